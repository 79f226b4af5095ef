import { randomUUID } from 'node:crypto';
import request from 'supertest';
import balanceFulfillment from './fixtures/lex-v2/get-account-balance-fulfillment.json';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { lexV2ResponseErrors } from './support/platform-response-schemas';
import { startTestApp, TestApp } from './support/test-app';
import { SlowHandler, TestHandlersModule } from './support/test-handlers';

const PATH = '/v1/webhooks/lex-v2';
const DEADLINE_MS = 1000;
const STILL_WORKING = "I'm still working on that. Please ask me again in a moment.";
const CARRIER_UNREACHABLE = "I can't reach our shipping partner right now. Please ask me again in a few minutes.";

type Json = Record<string, unknown>;

function slot(value: string) {
  return { shape: 'Scalar', value: { originalValue: value, interpretedValue: value, resolvedValues: [value] } };
}

/** A Lex V2 event for `intent`, built on the documented fulfillment fixture. */
function lexEvent(
  intent: string,
  sessionId: string,
  options: {
    source?: 'DialogCodeHook' | 'FulfillmentCodeHook';
    slots?: Record<string, ReturnType<typeof slot> | null>;
    sessionAttributes?: Record<string, string>;
  } = {},
): Json {
  const base = structuredClone(balanceFulfillment) as Json & { sessionState: Json };
  const intentState = { name: intent, slots: options.slots ?? {}, state: 'InProgress', confirmationState: 'None' };
  return {
    ...base,
    sessionId,
    invocationSource: options.source ?? 'FulfillmentCodeHook',
    interpretations: [{ intent: intentState }],
    sessionState: {
      ...base.sessionState,
      sessionAttributes: options.sessionAttributes ?? {},
      intent: intentState,
      originatingRequestId: randomUUID(),
    },
  };
}

describe('Lex V2: a turn past its deadline, a carrier outage (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        LEX_V2_DEADLINE_MS: String(DEADLINE_MS),
        LATE_WORK_TIMEOUT_MS: '10000',
        // The carrier down: nothing listens on port 1.
        CARRIER_API_URL: 'http://127.0.0.1:1',
        CARRIER_RETRIES: '0',
      },
      imports: [TestHandlersModule],
    });
  });
  afterAll(async () => {
    t.app.get(SlowHandler).releaseNow();
    await t.close();
  });

  const post = (body: unknown) =>
    request(t.baseUrl)
      .post(PATH)
      .set(LOCAL_DEV_AUTH)
      .send(body as object)
      .expect(200);

  it('answers a fulfillment past its deadline with ElicitIntent, not Close/Fulfilled; "any news?" gets the result', async () => {
    const slow = t.app.get(SlowHandler);
    const sessionId = `interim-${randomUUID()}`;
    const interim = await post(lexEvent('TestSlow', sessionId, { sessionAttributes: { customer_tier: 'gold' } }));
    expect(interim.body.sessionState.dialogAction).toEqual({ type: 'ElicitIntent' });
    expect(interim.body.sessionState).not.toHaveProperty('intent');
    expect(interim.body.messages).toEqual([{ contentType: 'PlainText', content: STILL_WORKING }]);
    const attributes = interim.body.sessionState.sessionAttributes as Record<string, string>;
    expect(attributes).toEqual({ customer_tier: 'gold', pendingFulfillmentId: expect.any(String) });
    expect(lexV2ResponseErrors(interim.body)).toEqual([]);
    expect(slow.finished).toBe(false);

    // The conversation stayed open: the user's "any news?" reaches PendingFulfillment, which answers with the result.
    slow.releaseNow();
    const news = await post(lexEvent('PendingFulfillment', sessionId, { sessionAttributes: attributes }));
    expect(news.body.sessionState.dialogAction).toEqual({ type: 'Close' });
    expect(news.body.sessionState.intent).toMatchObject({ name: 'PendingFulfillment', state: 'Fulfilled' });
    expect(news.body.messages).toEqual([{ contentType: 'PlainText', content: 'too late' }]);
    expect(news.body.sessionState.sessionAttributes).toEqual({ customer_tier: 'gold' });
  });

  it('closes GetShippingEstimate Failed when the carrier is unreachable (the bot takes its failure branch)', async () => {
    const response = await post(
      lexEvent('GetShippingEstimate', `carrier-${randomUUID()}`, {
        slots: { sku: slot('X200'), postcode: slot('10117') },
      }),
    );
    expect(response.body.sessionState.dialogAction).toEqual({ type: 'Close' });
    expect(response.body.sessionState.intent).toMatchObject({ name: 'GetShippingEstimate', state: 'Failed' });
    expect(response.body.messages).toEqual([{ contentType: 'PlainText', content: CARRIER_UNREACHABLE }]);
    expect(lexV2ResponseErrors(response.body)).toEqual([]);
  });
});
