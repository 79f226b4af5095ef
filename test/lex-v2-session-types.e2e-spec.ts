import { Module } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { FulfillmentHandler, FulfillmentRequest, FulfillmentResult, IntentHandler } from '../src/fulfillment';
import { JSON_ATTRIBUTES } from '../src/platforms/lex-v2/lex-v2.json-attributes';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { lexV2ResponseErrors } from './support/platform-response-schemas';
import { startTestApp, TestApp } from './support/test-app';

type Json = Record<string, unknown>;

/** Counts the user's visits in the session, as a handler written for every platform would. */
@IntentHandler('TestCountVisits')
class CountVisitsHandler implements FulfillmentHandler {
  readonly seen: FulfillmentRequest[] = [];

  handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    this.seen.push(request);
    const visits = typeof request.sessionParameters.visits === 'number' ? request.sessionParameters.visits + 1 : 1;
    return Promise.resolve({
      text: `Visit ${visits}.`,
      sessionParameters: { visits, vip: visits > 1, cart: { items: ['X200'] } },
      contexts: [{ name: 'basket', lifespan: 5, parameters: { quantity: visits * 2, giftWrap: false } }],
    });
  }
}

@Module({ providers: [CountVisitsHandler] })
class CountVisitsModule {}

/** A Lex V2 fulfillment code hook event carrying the session Lex kept. */
function lexEvent(sessionAttributes: Record<string, string>, activeContexts: unknown[] = []): Json {
  return {
    messageVersion: '1.0',
    invocationSource: 'FulfillmentCodeHook',
    inputMode: 'Text',
    sessionId: 'us-east-1:session-types-0001',
    inputTranscript: 'count my visit',
    bot: { id: 'B', name: 'Bot', aliasId: 'A', aliasName: 'Alias', localeId: 'en_US', version: 'DRAFT' },
    sessionState: {
      sessionAttributes,
      activeContexts,
      intent: { name: 'TestCountVisits', slots: {}, state: 'ReadyForFulfillment', confirmationState: 'None' },
      originatingRequestId: randomUUID(),
    },
  };
}

describe('Lex V2 session values keep their types across turns (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ imports: [CountVisitsModule] });
  });
  afterAll(() => t.close());

  const turn = async (body: Json) => {
    const response = await request(t.baseUrl).post('/v1/webhooks/lex-v2').set(LOCAL_DEV_AUTH).send(body).expect(200);
    const reply = response.body as { sessionState: { sessionAttributes: Record<string, string> } } & Json;
    expect(lexV2ResponseErrors(reply)).toEqual([]);
    return reply.sessionState as { sessionAttributes: Record<string, string>; activeContexts: unknown[] };
  };

  it("gives the handler its numbers, booleans and objects back, and the bot's own strings as strings", async () => {
    const handler = t.app.get(CountVisitsHandler);
    const botAttributes = { customerNumber: '3', preferences: '{"lang":"en"}' };

    const first = await turn(lexEvent(botAttributes));
    expect(first.sessionAttributes).toMatchObject({ ...botAttributes, visits: '1', vip: 'false' });
    const second = await turn(lexEvent(first.sessionAttributes, first.activeContexts));
    await turn(lexEvent(second.sessionAttributes, second.activeContexts));

    const [, secondSeen, thirdSeen] = handler.seen;
    expect(secondSeen.sessionParameters).toEqual({
      ...botAttributes,
      visits: 1,
      vip: false,
      cart: { items: ['X200'] },
    });
    expect(secondSeen.sessionParameters).not.toHaveProperty(JSON_ATTRIBUTES);
    expect(secondSeen.contexts).toEqual([
      expect.objectContaining({ name: 'basket', parameters: { quantity: 2, giftWrap: false } }),
    ]);
    expect(thirdSeen.sessionParameters).toMatchObject({ customerNumber: '3', visits: 2, vip: true });
  });
});
