import { Module } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { FulfillmentHandler, FulfillmentRequest, FulfillmentResult, IntentHandler } from '../src/fulfillment';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';

const PATH = '/v1/webhooks/rasa';

type Json = Record<string, unknown>;

/** A state-changing handler that counts its runs: a replayed turn does not run it again. */
@IntentHandler('TestCountRuns', { changesState: true })
class CountRunsHandler implements FulfillmentHandler {
  private runs = 0;

  handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    this.runs += 1;
    return Promise.resolve({ text: `run ${this.runs} for ${String(request.queryText)}` });
  }
}

/** Sets a slot the domain declares, one RASA_SLOT_MAP maps, and one nobody declares. */
@IntentHandler('TestSessionValues')
class SessionValuesHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: 'noted', sessionParameters: { visits: 3, cartTotal: 12, obsolete: 'x' } });
  }
}

@Module({ providers: [CountRunsHandler, SessionValuesHandler] })
class RasaTurnHandlersModule {}

const user = (messageId: string, timestamp: number, text: string): Json => ({
  event: 'user',
  timestamp,
  text,
  message_id: messageId,
  parse_data: { intent: { name: 'transfer', confidence: 0.9 } },
});

function action(next: string, sender: string, text: string, messageId: string, events: Json[], domain?: Json): Json {
  return {
    next_action: next,
    sender_id: sender,
    tracker: {
      sender_id: sender,
      slots: {},
      latest_message: { text, message_id: messageId, intent: { name: 'transfer' }, entities: [] },
      events,
      latest_event_time: events.at(-1)?.timestamp,
      active_loop: {},
    },
    ...(domain !== undefined && { domain }),
    version: '3.6.20',
  };
}

describe('Rasa turns (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ imports: [RasaTurnHandlersModule], env: { RASA_SLOT_MAP: 'cartTotal=cart_total' } });
  });
  afterAll(() => t?.close());

  const post = (body: unknown) =>
    request(t.baseUrl)
      .post(PATH)
      .set(LOCAL_DEV_AUTH)
      .send(body as object);

  describe('exactly once per user message', () => {
    it('runs two turns with as many tracker events (max_events) as two turns, and a retry once', async () => {
      const sender = `capped-${randomUUID()}`;
      // Rasa keeps the last four events: the second turn's tracker is as long as the first's.
      const first = action('action_test_count_runs', sender, 'send 10', 'm-1', [
        { event: 'action', timestamp: 1, name: 'action_listen' },
        user('m-1', 2, 'send 10'),
        { event: 'user_featurization', timestamp: 2.1 },
        { event: 'slot', timestamp: 2.2, name: 'amount', value: 10 },
      ]);
      const second = action('action_test_count_runs', sender, 'send 20', 'm-2', [
        { event: 'bot', timestamp: 3, text: 'run 1' },
        { event: 'action', timestamp: 4, name: 'action_listen' },
        user('m-2', 5, 'send 20'),
        { event: 'user_featurization', timestamp: 5.1 },
      ]);

      const ran = await post(first).expect(200);
      expect(ran.body.responses).toEqual([{ text: 'run 1 for send 10' }]);
      expect(ran.headers['idempotent-replayed']).toBeUndefined();

      const retried = await post(first).expect(200);
      expect(retried.body).toEqual(ran.body);
      expect(retried.headers['idempotent-replayed']).toBe('true');

      // Before, both were turn `<sender>:4`: the second got 422 and Rasa saw a failed action.
      const next = await post(second).expect(200);
      expect(next.body.responses).toEqual([{ text: 'run 2 for send 20' }]);
      expect(next.headers['idempotent-replayed']).toBeUndefined();
    });

    it('runs two turns whose events Rasa does not send, told apart by the message id', async () => {
      const sender = `stripped-${randomUUID()}`;
      const first = await post(action('action_test_count_runs', sender, 'yes', 'm-a', [])).expect(200);
      const second = await post(action('action_test_count_runs', sender, 'yes', 'm-b', [])).expect(200);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      expect(second.headers['idempotent-replayed']).toBeUndefined();
      expect(second.body.responses[0].text).not.toBe(first.body.responses[0].text);
    });
  });

  describe('slots the domain declares', () => {
    const domain = { slots: { visits: { type: 'float' }, cart_total: { type: 'float' } } };

    it('sets declared slots and mapped ones (RASA_SLOT_MAP), and no others', async () => {
      const call = action('action_test_session_values', `slots-${randomUUID()}`, 'hi', 'm-1', [], domain);
      expect((await post(call).expect(200)).body).toEqual({
        events: [
          { event: 'slot', name: 'visits', value: 3 },
          { event: 'slot', name: 'cart_total', value: 12 },
        ],
        responses: [{ text: 'noted' }],
      });
    });

    it('sets every value (mapped names renamed) when the call carries no domain', async () => {
      const call = action('action_test_session_values', `no-domain-${randomUUID()}`, 'hi', 'm-1', []);
      expect((await post(call).expect(200)).body.events).toEqual([
        { event: 'slot', name: 'visits', value: 3 },
        { event: 'slot', name: 'cart_total', value: 12 },
        { event: 'slot', name: 'obsolete', value: 'x' },
      ]);
    });
  });
});
