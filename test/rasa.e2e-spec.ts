import request from 'supertest';
import balanceCall from './fixtures/rasa/action_get_account_balance.json';
import transactionsCall from './fixtures/rasa/action_get_recent_transactions.json';
import activeFormCall from './fixtures/rasa/active_form.json';
import unknownFieldsCall from './fixtures/rasa/unknown_fields.json';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { TestHandlersModule } from './support/test-handlers';

const PATH = '/v1/webhooks/rasa';

type Json = Record<string, unknown>;
type Event = { event: string; name?: string; value?: unknown };

const clone = <T>(value: T): T => structuredClone(value);

/** A call in the fixtures' shape, for another action, slots and latest message. */
function rasaCall(action: string, slots: Json, latestMessage: Json = {}, domainSlots: string[] = []): Json {
  const call = clone(balanceCall) as unknown as { tracker: Json; domain: { slots: Json } } & Json;
  call.next_action = action;
  call.tracker.slots = slots;
  call.tracker.latest_message = {
    intent: { name: 'some_intent', confidence: 0.9 },
    entities: [],
    text: 'hi',
    ...latestMessage,
  };
  for (const slot of domainSlots) call.domain.slots[slot] = { type: 'any', mappings: [{ type: 'custom' }] };
  return call;
}

/** What Rasa does with the returned events before the next call: apply the slot events to the tracker. */
function applyEvents(call: Json, events: Event[], nextMessage: Json, extraEvents: Json[] = []): Json {
  const next = clone(call) as { tracker: { slots: Json; events: Json[]; latest_message: Json } } & Json;
  for (const event of events) {
    if (event.event === 'slot' && event.name !== undefined) next.tracker.slots[event.name] = event.value;
  }
  next.tracker.events = [...next.tracker.events, ...(events as unknown as Json[]), ...extraEvents];
  next.tracker.latest_message = nextMessage;
  return next;
}

describe('Rasa action server (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ imports: [TestHandlersModule] });
  });
  afterAll(async () => {
    await t.close();
  });

  const post = (body: unknown) =>
    request(t.baseUrl)
      .post(PATH)
      .set(LOCAL_DEV_AUTH)
      .send(body as object);

  describe('the fixtures', () => {
    it('answers action_get_account_balance with the seeded balance, buttons and no redundant slots', async () => {
      const response = await post(balanceCall)
        .expect(200)
        .expect('Content-Type', /application\/json/);
      expect(response.body).toEqual({
        events: [],
        responses: [
          { text: 'Your checking account balance is $3,247.82.' },
          {
            text: 'Would you like to see recent transactions?',
            buttons: [
              { title: 'Show recent transactions', payload: 'Show recent transactions' },
              { title: 'No, thanks', payload: 'No, thanks' },
            ],
          },
        ],
      });
    });

    it('answers action_get_recent_transactions with the count from the duckling number entity', async () => {
      const response = await post(transactionsCall).expect(200);
      expect(response.body.events).toEqual([]);
      const responses = response.body.responses as { text: string }[];
      expect(responses).toHaveLength(4);
      expect(responses[0]).toEqual({ text: 'Here are the last 3 transactions on your checking account:' });
      for (const line of responses.slice(1)) {
        expect(Object.keys(line)).toEqual(['text']);
        expect(line.text).toMatch(/^[A-Z][a-z]{2} \d{1,2}: .+, -?\$[\d,]+\.\d\d$/);
      }
    });

    it('ignores fields it does not know at every level', async () => {
      const response = await post(unknownFieldsCall).expect(200);
      expect(response.body.responses[0]).toEqual({ text: 'Your checking account balance is $3,247.82.' });
    });

    it('answers an action a rule runs while a form is active (the form’s own validation step is left to the form)', async () => {
      const response = await post(activeFormCall).expect(200);
      expect(response.body.responses[0].text).toBe(
        'Which account would you like the balance for: checking or savings?',
      );
    });

    it('fills a declared slot from an entity the user just said', async () => {
      const call = clone(balanceCall) as unknown as { tracker: { slots: Json; latest_message: Json } };
      call.tracker.slots.account_type = null;
      call.tracker.latest_message.entities = [
        { entity: 'account_type', value: 'savings', extractor: 'DIETClassifier' },
      ];
      const response = await post(call).expect(200);
      expect(response.body.events).toEqual([{ event: 'slot', name: 'account_type', value: 'savings' }]);
      expect(response.body.responses[0].text).toBe('Your savings account balance is $12,500.00.');
    });

    it('formats for the language in the message metadata', async () => {
      const call = rasaCall(
        'action_get_account_balance',
        { user_id: '67890', account_type: 'checking' },
        {
          metadata: { language: 'de' },
        },
      );
      const response = await post(call).expect(200);
      expect(response.body.responses[0].text).toContain('1.843,15\u00a0€');
    });
  });

  it('accepts an action call compressed with deflate, as newer Rasa versions send it', async () => {
    const { deflateSync } = await import('node:zlib');
    const { request: httpRequest } = await import('node:http');
    const body = deflateSync(Buffer.from(JSON.stringify(balanceCall)));
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        `${t.baseUrl}${PATH}`,
        {
          method: 'POST',
          headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json', 'Content-Encoding': 'deflate' },
        },
        (res) => {
          let received = '';
          res.on('data', (chunk: Buffer) => (received += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: received }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(200);
    expect(text).toContain('$3,247.82');
  });

  describe('the other SDK endpoints', () => {
    it('GET /health answers {"status":"ok"}', async () => {
      const response = await request(t.baseUrl)
        .get(`${PATH}/health`)
        .set(LOCAL_DEV_AUTH)
        .expect(200)
        .expect('Content-Type', /application\/json/);
      expect(response.body).toEqual({ status: 'ok' });
    });

    it('GET /actions lists every registered intent under its action name', async () => {
      const response = await request(t.baseUrl).get(`${PATH}/actions`).set(LOCAL_DEV_AUTH).expect(200);
      const names = (response.body as { name: string }[]).map((action) => action.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'action_get_account_balance',
          'action_get_recent_transactions',
          'action_test_conversation',
          'action_test_rich',
        ]),
      );
      expect(names).toEqual([...names].sort());
      expect(response.body[0]).toEqual({ name: names[0] });
    });
  });

  describe('errors in the Rasa SDK format', () => {
    it('404 for an action nobody handles', async () => {
      const response = await post({ ...balanceCall, next_action: 'action_order_pizza' })
        .expect(404)
        .expect('Content-Type', /application\/json/);
      expect(response.body).toEqual({
        error: "No registered action found for name 'action_order_pizza'.",
        action_name: 'action_order_pizza',
      });
    });

    it('400 with the action name for an invalid call', async () => {
      const response = await post({
        ...balanceCall,
        tracker: { ...balanceCall.tracker, slots: 'x', events: 3 },
      }).expect(400);
      expect(response.body).toEqual({
        error: expect.stringMatching(/^Rasa action call is invalid: .*tracker\.slots.*tracker\.events/),
        action_name: 'action_get_account_balance',
      });
    });

    it('400 without an action name when there is none', async () => {
      const response = await post({ sender_id: 'x', tracker: {} }).expect(400);
      expect(response.body).toEqual({ error: expect.stringContaining('next_action') });
    });

    it('401 in our usual format without a token, on every route', async () => {
      const webhook = await request(t.baseUrl).post(PATH).send(balanceCall).expect(401);
      expect(webhook.body).toMatchObject({ statusCode: 401, error: 'UNAUTHENTICATED' });
      expect(webhook.headers['www-authenticate']).toMatch(/^Bearer/);
      await request(t.baseUrl).get(`${PATH}/health`).expect(401);
      await request(t.baseUrl).get(`${PATH}/actions`).set('Authorization', 'Bearer wrong').expect(401);
    });
  });

  describe('conversation features', () => {
    const feature = (name: string, slots: Json = {}) =>
      rasaCall('action_test_conversation', { feature: name, ...slots }, {}, ['feature', 'visits', 'date']);

    it('keeps session values in slots across turns; a value the domain declares no slot for is not set', async () => {
      const first = await post(feature('session')).expect(200);
      expect(first.body).toEqual({
        // `obsolete` is not a slot of this bot: Rasa would drop it with a warning.
        events: [{ event: 'slot', name: 'visits', value: 1 }],
        responses: [{ text: 'visit 1' }],
      });
      const second = await post(applyEvents(feature('session'), first.body.events, { text: 'again' })).expect(200);
      expect(second.body.responses).toEqual([{ text: 'visit 2' }]);
      expect(second.body.events[0]).toEqual({ event: 'slot', name: 'visits', value: 2 });
    });

    it('takes the feature from an entity as well as from a slot', async () => {
      const call = rasaCall('action_test_conversation', {}, { entities: [{ entity: 'feature', value: 'end' }] });
      expect((await post(call).expect(200)).body).toEqual({ events: [], responses: [{ text: 'Goodbye.' }] });
    });

    it('elicits a slot: requested_slot, the invalid value reset, and the prompt', async () => {
      const response = await post(feature('elicit', { date: 'yesterday' })).expect(200);
      expect(response.body).toEqual({
        events: [
          { event: 'slot', name: 'date', value: null },
          { event: 'slot', name: 'requested_slot', value: 'date' },
        ],
        responses: [{ text: 'Which date?' }],
      });
    });

    it('answers a delegated turn with nothing, so Rasa carries on', async () => {
      expect((await post(feature('delegate')).expect(200)).body).toEqual({ events: [], responses: [] });
    });

    it('offers Yes/No buttons for a confirmation and a custom response for a hand-off', async () => {
      expect((await post(feature('confirm')).expect(200)).body.responses).toEqual([
        {
          text: 'Book it?',
          buttons: [
            { title: 'Yes', payload: 'Yes' },
            { title: 'No', payload: 'No' },
          ],
        },
      ]);
      expect((await post(feature('handoff')).expect(200)).body.responses).toEqual([
        { text: 'Connecting you to an agent.' },
        { custom: { handoff: { reason: 'asked for a human' } } },
      ]);
    });

    it('renders every rich message type of a handler', async () => {
      const response = await post(rasaCall('action_test_rich', {})).expect(200);
      expect(response.body).toEqual({
        events: [{ event: 'followup', name: 'NEXT_STEP' }],
        responses: [
          { text: 'hello' },
          {
            text: 'Pick',
            buttons: [
              { title: 'a', payload: 'a' },
              { title: 'b', payload: 'b' },
            ],
          },
          {
            custom: {
              card: {
                title: 'Card',
                subtitle: 'Sub',
                imageUrl: 'https://example.com/i.png',
                buttons: [{ text: 'Go', postback: 'go' }],
              },
            },
          },
          { image: 'https://example.com/j.png' },
          { custom: { custom: { nested: true } } },
          { custom: { google: { expectUserResponse: true } } },
        ],
      });
    });
  });

  it('holds a multi-turn conversation: asks which account, then answers with the slot set', async () => {
    const first = rasaCall(
      'action_get_account_balance',
      { user_id: '12345', account_type: null, requested_slot: null },
      { text: 'What is my balance?', intent: { name: 'check_balance', confidence: 0.95 } },
    );
    const question = await post(first).expect(200);
    expect(question.body).toEqual({
      // The handler elicits account_type: Rasa learns which slot the answer fills.
      events: [{ event: 'slot', name: 'requested_slot', value: 'account_type' }],
      responses: [
        {
          text: 'Which account would you like the balance for: checking or savings?',
          buttons: [
            { title: 'checking', payload: 'checking' },
            { title: 'savings', payload: 'savings' },
          ],
        },
      ],
    });

    // The user taps "checking"; Rasa's from_entity mapping sets the slot before predicting the action again.
    const answer = {
      text: 'checking',
      intent: { name: 'inform', confidence: 0.99 },
      entities: [{ entity: 'account_type', value: 'checking' }],
    };
    const second = applyEvents(first, question.body.events, answer, [
      { event: 'bot', text: question.body.responses[0].text },
      { event: 'action', name: 'action_listen' },
      { event: 'user', text: 'checking' },
      { event: 'slot', name: 'account_type', value: 'checking' },
    ]);
    (second.tracker as { slots: Json }).slots.account_type = 'checking';
    const balance = await post(second).expect(200);
    expect(balance.body.events).toEqual([]);
    expect(balance.body.responses[0]).toEqual({ text: 'Your checking account balance is $3,247.82.' });
  });
});
