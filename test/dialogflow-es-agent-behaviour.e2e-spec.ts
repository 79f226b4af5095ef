import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { declinedTransfer, esRequest, LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';

/**
 * What a real Dialogflow ES agent does around the webhook, beyond one request and its answer: it merges each matched
 * intent's parameters into the contexts a webhook set, and a follow-up event can bring a second call for another
 * intent within the same detectIntent.
 */
const PATH = '/v1/webhooks/dialogflow-es';
const SESSION = 'projects/acme-assistant-7f3a1/agent/sessions/4f8c2d1a-9b7e-4c3d-8a2f-1e6b5d9c0a7f';

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function fixture(intent: string): Body {
  const text = readFileSync(join(__dirname, 'fixtures', 'dialogflow-es', 'intents', `${intent}.json`), 'utf8');
  return { ...(JSON.parse(text) as Body), responseId: randomUUID() };
}

/**
 * The contexts of the last answer as ES sends them with the next matched intent: one turn older, and with the intent's
 * parameters copied into every one (unfilled ones as "", each with `<name>.original`), over values of the same name.
 */
function mergedByEs(
  answer: Body,
  intentParameters: Record<string, unknown>,
  originals: Record<string, string>,
): Body[] {
  const merged: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(intentParameters)) {
    merged[name] = value;
    merged[`${name}.original`] = originals[name] ?? '';
  }
  return (answer.outputContexts as Body[]).map((context) => ({
    name: context.name,
    lifespanCount: context.lifespanCount - 1,
    parameters: { ...context.parameters, ...merged },
  }));
}

describe('Dialogflow ES: what the agent does between webhook calls (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const post = (body: Body) => request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).send(body);

  it('keeps the session values through the parameters ES merges into the session-parameters context', async () => {
    const checked = await post(fixture('CheckInventory')).expect(200);
    expect(checked.body.fulfillmentText).toMatch(/^X200 Wireless Headphones \(X200\): 42 in stock/);

    // "How long to 10115?": GetShippingEstimate matches with sku and product unfilled.
    const parameters = { sku: '', product: '', postcode: '10115' };
    const shipping = fixture('GetShippingEstimate');
    shipping.queryResult.queryText = 'How long would it take to reach 10115?';
    shipping.queryResult.parameters = parameters;
    shipping.queryResult.outputContexts = mergedByEs(checked.body, parameters, { postcode: '10115' });
    const estimated = await post(shipping).expect(200);
    expect(estimated.body.fulfillmentText).toBe(
      'X200 Wireless Headphones ships from New Jersey warehouse with DemoPost express and should arrive in 1 business day.',
    );
    // What ES merged is not taken for session state, nor written back.
    expect(estimated.body.outputContexts).toEqual([
      {
        name: `${SESSION}/contexts/session-parameters`,
        lifespanCount: 50,
        parameters: { 'webhook-session': { sku: 'X200' } },
      },
    ]);
  });

  it('runs a state-changing follow-up intent called with the same responseId as a turn of its own', async () => {
    // TransferFunds (declined, so nothing moves) and, in the same detectIntent, the intent its follow-up event triggers.
    const transfer = declinedTransfer();
    const followUp = esRequest(
      'CancelAppointment',
      { reference: 'ABC234', patient_id: 'P-1001' },
      { responseId: transfer.responseId },
    );
    const declined = await post(transfer).expect(200);
    expect(declined.body.fulfillmentText).toBe("OK, I won't make that transfer.");
    const cancelled = await post(followUp).expect(200);
    expect(cancelled.body.fulfillmentText).toBe("I couldn't find a booked appointment ABC234 for that patient number.");
    expect(cancelled.headers['idempotent-replayed']).toBeUndefined();
    // A retry of either call is still answered from the idempotency store.
    const retried = await post(followUp).expect(200);
    expect(retried.headers['idempotent-replayed']).toBe('true');
    expect(retried.body).toEqual(cancelled.body);
  });
});
