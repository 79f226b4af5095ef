import request from 'supertest';
import dialogMissingAccountType from './fixtures/lex-v2/get-account-balance-dialog-missing-account-type.json';
import balanceFulfillment from './fixtures/lex-v2/get-account-balance-fulfillment.json';
import unknownFields from './fixtures/lex-v2/get-account-balance-unknown-fields.json';
import transactionsFulfillment from './fixtures/lex-v2/get-recent-transactions-fulfillment.json';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { lexV2ResponseErrors } from './support/platform-response-schemas';
import { startTestApp, TestApp } from './support/test-app';
import { TestHandlersModule } from './support/test-handlers';

const PATH = '/v1/webhooks/lex-v2';
const POLITE_ERROR = 'Sorry, something went wrong on our side. Please try again in a moment.';

type Json = Record<string, unknown>;

function slot(value: string) {
  return { shape: 'Scalar', value: { originalValue: value, interpretedValue: value, resolvedValues: [value] } };
}

/** A Lex V2 event for `intent` with the given slots, built on the documented fulfillment fixture. */
function lexEvent(
  intent: string,
  slots: Record<string, ReturnType<typeof slot> | null>,
  options: { source?: 'DialogCodeHook' | 'FulfillmentCodeHook'; sessionAttributes?: Record<string, string> } = {},
): Json {
  const base = structuredClone(balanceFulfillment) as Json & { sessionState: Json };
  return {
    ...base,
    invocationSource: options.source ?? 'FulfillmentCodeHook',
    interpretations: [{ intent: { name: intent, slots, state: 'InProgress', confirmationState: 'None' } }],
    sessionState: {
      ...base.sessionState,
      sessionAttributes: options.sessionAttributes ?? {},
      intent: { name: intent, slots, state: 'InProgress', confirmationState: 'None' },
      originatingRequestId: `req-${Math.random().toString(36).slice(2)}`,
    },
  };
}

describe('Lex V2 webhook (real HTTP, real PostgreSQL)', () => {
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

  describe('documented events', () => {
    it('answers the GetAccountBalance fulfillment with the balance, field by field', async () => {
      const response = await post(balanceFulfillment)
        .expect(200)
        .expect('Content-Type', /application\/json/);
      expect(response.body).toEqual({
        sessionState: {
          // The context's balance is a number: Lex holds strings, so it goes as JSON and is listed for the next turn.
          sessionAttributes: {
            customer_tier: 'gold',
            'x-webhook-fulfillment:json': '{"contexts":{"account_info":["balance"]}}',
          },
          activeContexts: [
            {
              name: 'account_info',
              contextAttributes: {
                user_id: '12345',
                account_type: 'checking',
                balance: '3247.82',
                currency: 'USD',
                last_updated: expect.any(String),
              },
              timeToLive: { timeToLiveInSeconds: 600, turnsToLive: 5 },
            },
          ],
          dialogAction: { type: 'Close' },
          intent: {
            name: 'GetAccountBalance',
            slots: balanceFulfillment.sessionState.intent.slots,
            state: 'Fulfilled',
            confirmationState: 'None',
          },
        },
        messages: [
          { contentType: 'PlainText', content: 'Your checking account balance is $3,247.82.' },
          {
            contentType: 'ImageResponseCard',
            imageResponseCard: {
              title: 'Would you like to see recent transactions?',
              buttons: [
                { text: 'Show recent transactions', value: 'Show recent transactions' },
                { text: 'No, thanks', value: 'No, thanks' },
              ],
            },
          },
        ],
        requestAttributes: { channel: 'web' },
      });
    });

    it('delegates the dialog code hook with account_type missing back to Lex (the handler only fulfils)', async () => {
      const response = await post(dialogMissingAccountType).expect(200);
      expect(response.body).toEqual({
        sessionState: {
          sessionAttributes: { customer_tier: 'gold' },
          activeContexts: [],
          dialogAction: { type: 'Delegate' },
          intent: {
            name: 'GetAccountBalance',
            slots: { user_id: dialogMissingAccountType.sessionState.intent.slots.user_id, account_type: null },
            state: 'InProgress',
            confirmationState: 'None',
          },
        },
        requestAttributes: { channel: 'web' },
      });
    });

    it('answers GetRecentTransactions with the requested count and refreshes the account_info context', async () => {
      const response = await post(transactionsFulfillment).expect(200);
      const { sessionState, messages } = response.body as {
        sessionState: Json & { dialogAction: Json; intent: Json; activeContexts: Json[] };
        messages: { contentType: string; content: string }[];
      };
      expect(sessionState.dialogAction).toEqual({ type: 'Close' });
      expect(sessionState.intent).toMatchObject({ name: 'GetRecentTransactions', state: 'Fulfilled' });
      expect(sessionState.activeContexts).toEqual([
        {
          name: 'account_info',
          contextAttributes: { user_id: '12345', account_type: 'checking' },
          timeToLive: { timeToLiveInSeconds: 600, turnsToLive: 5 },
        },
      ]);
      expect(messages).toHaveLength(4);
      expect(messages[0]).toEqual({
        contentType: 'PlainText',
        content: 'Here are the last 3 transactions on your checking account:',
      });
      messages.forEach((message) => expect(message.contentType).toBe('PlainText'));
    });

    it('ignores fields it does not know at every level', async () => {
      const response = await post(unknownFields).expect(200);
      expect(response.body.messages[0].content).toBe('Your checking account balance is $3,247.82.');
      expect(response.body.sessionState.intent.state).toBe('Fulfilled');
    });

    it('formats for the bot locale (de_DE → de-DE)', async () => {
      const event = lexEvent('GetAccountBalance', { user_id: slot('67890'), account_type: slot('checking') });
      (event.bot as Json).localeId = 'de_DE';
      const response = await post(event).expect(200);
      expect(response.body.messages[0].content).toContain('1.843,15\u00a0€');
    });
  });

  describe('conversation features', () => {
    const feature = (name: string, extra: Record<string, ReturnType<typeof slot> | null> = {}, attributes = {}) =>
      post(lexEvent('TestConversation', { feature: slot(name), ...extra }, { sessionAttributes: attributes })).expect(
        200,
      );

    it('round-trips session attributes as strings, non-strings listed as JSON; null removes one', async () => {
      const first = await feature('session');
      expect(first.body.messages).toEqual([{ contentType: 'PlainText', content: 'visit 1' }]);
      expect(first.body.sessionState.sessionAttributes).toEqual({
        visits: '1',
        'x-webhook-fulfillment:json': '{"session":["visits"]}',
      });
      const second = await feature(
        'session',
        {},
        { ...first.body.sessionState.sessionAttributes, obsolete: 'x', other: 'kept' },
      );
      expect(second.body.messages[0].content).toBe('visit 2');
      expect(second.body.sessionState.sessionAttributes).toEqual({
        visits: '2',
        other: 'kept',
        'x-webhook-fulfillment:json': '{"session":["visits"]}',
      });
    });

    it('elicits a slot with ElicitSlot, clearing the invalid value', async () => {
      const response = await feature('elicit', { date: slot('someday') });
      expect(response.body.sessionState.dialogAction).toEqual({ type: 'ElicitSlot', slotToElicit: 'date' });
      expect(response.body.sessionState.intent).toEqual({
        name: 'TestConversation',
        slots: { feature: slot('elicit'), date: null },
        state: 'InProgress',
        confirmationState: 'None',
      });
      expect(response.body.messages).toEqual([{ contentType: 'PlainText', content: 'Which date?' }]);
    });

    it('answers an elicitation of a slot the intent does not have with the error reply, not a response Lex rejects', async () => {
      // The intent's slots as Lex lists them (an unfilled one null), without `date`: the bot names it otherwise.
      const response = await post(lexEvent('TestConversation', { feature: slot('elicit'), when: null })).expect(200);
      expect(response.body.sessionState.dialogAction).toEqual({ type: 'Close' });
      expect(response.body.sessionState.intent).toMatchObject({ name: 'TestConversation', state: 'Failed' });
      expect(response.body.messages).toEqual([
        { contentType: 'PlainText', content: 'Sorry, something went wrong on our side. Please try again in a moment.' },
      ]);
      expect(lexV2ResponseErrors(response.body)).toEqual([]);
    });

    it('asks for confirmation with ConfirmIntent', async () => {
      const response = await feature('confirm');
      expect(response.body.sessionState.dialogAction).toEqual({ type: 'ConfirmIntent' });
      expect(response.body.sessionState.intent).toMatchObject({ state: 'InProgress', confirmationState: 'None' });
      expect(response.body.messages).toEqual([{ contentType: 'PlainText', content: 'Book it?' }]);
    });

    it('closes on a hand-off, leaving it in the handoff session attribute', async () => {
      const response = await feature('handoff');
      expect(response.body.sessionState.dialogAction).toEqual({ type: 'Close' });
      expect(response.body.sessionState.intent.state).toBe('Fulfilled');
      expect(JSON.parse(response.body.sessionState.sessionAttributes.handoff)).toEqual({ reason: 'asked for a human' });
    });

    it('closes on the end of the conversation', async () => {
      const response = await feature('end');
      expect(response.body.sessionState.dialogAction).toEqual({ type: 'Close' });
      expect(response.body.messages).toEqual([{ contentType: 'PlainText', content: 'Goodbye.' }]);
    });

    it('delegates without messages', async () => {
      const response = await feature('delegate');
      expect(response.body.sessionState.dialogAction).toEqual({ type: 'Delegate' });
      expect(response.body.messages).toBeUndefined();
      expect(response.body.sessionState.sessionAttributes).toEqual({
        visits: '1',
        'x-webhook-fulfillment:json': '{"session":["visits"]}',
      });
    });

    it('renders rich messages as cards and custom payloads, and contexts with Lex-valid names', async () => {
      const response = await post(lexEvent('TestRich', {})).expect(200);
      expect(response.body.messages).toEqual([
        { contentType: 'PlainText', content: 'hello' },
        {
          contentType: 'ImageResponseCard',
          imageResponseCard: {
            title: 'Pick',
            buttons: [
              { text: 'a', value: 'a' },
              { text: 'b', value: 'b' },
            ],
          },
        },
        {
          contentType: 'ImageResponseCard',
          imageResponseCard: {
            title: 'Card',
            subtitle: 'Sub',
            imageUrl: 'https://example.com/i.png',
            buttons: [{ text: 'Go', value: 'go' }],
          },
        },
        {
          contentType: 'CustomPayload',
          content: JSON.stringify({ image: { imageUrl: 'https://example.com/j.png', accessibilityText: 'J' } }),
        },
        { contentType: 'CustomPayload', content: JSON.stringify({ custom: { nested: true } }) },
        { contentType: 'CustomPayload', content: JSON.stringify({ google: { expectUserResponse: true } }) },
      ]);
      expect(response.body.sessionState.activeContexts).toEqual([
        {
          name: 'echo',
          contextAttributes: { contexts: '[]' },
          timeToLive: { timeToLiveInSeconds: 600, turnsToLive: 3 },
        },
      ]);
    });
  });

  describe('a multi-turn conversation', () => {
    it('delegates the dialog hook, asks for the account, then answers with the balance', async () => {
      const first = await post(
        lexEvent('GetAccountBalance', { user_id: slot('12345'), account_type: null }, { source: 'DialogCodeHook' }),
      ).expect(200);
      expect(first.body.sessionState.dialogAction.type).toBe('Delegate');
      expect(first.body.messages).toBeUndefined();

      const second = await post(lexEvent('GetAccountBalance', { user_id: slot('12345'), account_type: null })).expect(
        200,
      );
      expect(second.body.messages[0]).toEqual({
        contentType: 'PlainText',
        content: 'Which account would you like the balance for: checking or savings?',
      });
      expect(second.body.messages[1].imageResponseCard.buttons).toEqual([
        { text: 'checking', value: 'checking' },
        { text: 'savings', value: 'savings' },
      ]);

      const third = await post(
        lexEvent('GetAccountBalance', { user_id: slot('12345'), account_type: slot('checking') }),
      ).expect(200);
      expect(third.body.sessionState.dialogAction.type).toBe('Close');
      expect(third.body.sessionState.intent.state).toBe('Fulfilled');
      expect(third.body.messages[0].content).toBe('Your checking account balance is $3,247.82.');
    });
  });

  describe('dispatcher outcomes', () => {
    it('answers a failing handler with Close/Failed and the polite text, without internals', async () => {
      const response = await post(lexEvent('TestExplode', {})).expect(200);
      expect(response.body.sessionState.dialogAction).toEqual({ type: 'Close' });
      expect(response.body.sessionState.intent.state).toBe('Failed');
      expect(response.body.messages).toEqual([{ contentType: 'PlainText', content: POLITE_ERROR }]);
      expect(JSON.stringify(response.body)).not.toMatch(/secret-internal-detail/);
    });

    it('replaces a response over Lex limits with Close/Failed and the polite text', async () => {
      const response = await post(lexEvent('TestOversized', {})).expect(200);
      expect(response.body.sessionState.intent.state).toBe('Failed');
      expect(response.body.messages).toEqual([{ contentType: 'PlainText', content: POLITE_ERROR }]);
      expect(response.text.length).toBeLessThan(2048);
    });

    it('replaces a response that the slots sent back would take over Lex limits with a Failed intent that fits', async () => {
      // Two slot values Lex never sends, each within the service's bound for a text: echoed, over 25 KB.
      const event = lexEvent('GetAccountBalance', {
        user_id: slot('12345'),
        account_type: slot('checking'),
        note: slot('n'.repeat(15_000)),
        remark: slot('r'.repeat(15_000)),
      });
      const response = await post(event).expect(200);
      expect(response.body.sessionState.intent).toEqual({
        name: 'GetAccountBalance',
        state: 'Failed',
        confirmationState: 'None',
      });
      expect(response.body.messages).toEqual([{ contentType: 'PlainText', content: POLITE_ERROR }]);
      expect(lexV2ResponseErrors(response.body)).toEqual([]);
    });

    it('delegates a dialog code hook for an intent without a handler, and falls back at fulfillment', async () => {
      const dialog = await post(lexEvent('NoSuchIntent', {}, { source: 'DialogCodeHook' })).expect(200);
      expect(dialog.body.sessionState.dialogAction).toEqual({ type: 'Delegate' });
      const fulfillment = await post(lexEvent('NoSuchIntent', {})).expect(200);
      expect(fulfillment.body.messages[0].content).toMatch(/^Sorry, I can't help with that yet/);
    });
  });

  describe('native Lex shapes', () => {
    const address = (city: ReturnType<typeof slot> | null) => ({
      shape: 'Composite',
      value: { originalValue: 'Main St 1 Springfield', interpretedValue: 'Main St 1 Springfield', resolvedValues: [] },
      subSlots: { street: slot('Main St 1'), city },
    });
    const addressEvent = (city: ReturnType<typeof slot> | null) => {
      const event = lexEvent('TestAddress', {}, { source: 'DialogCodeHook' }) as Json & { sessionState: Json };
      (event.sessionState.intent as Json).slots = { address: address(city) };
      return event;
    };

    it('accepts interpretations whose nluConfidence is an object, as in older events', async () => {
      const event = lexEvent('GetAccountBalance', { user_id: slot('12345'), account_type: slot('checking') });
      event.interpretations = [
        { intent: { name: 'GetAccountBalance', slots: {} }, nluConfidence: { score: 0.93 } },
        { intent: { name: 'FallbackIntent', slots: {} } },
      ];
      const response = await post(event).expect(200);
      expect(response.body.messages[0].content).toMatch(/checking account balance is/);
    });

    it('reads composite sub-slots as slot.subSlot parameters', async () => {
      const response = await post(addressEvent(slot('Springfield'))).expect(200);
      expect(response.body.messages[0].content).toBe('Shipping to Main St 1, Springfield.');
    });

    it("asks for a missing sub-slot with Lex's own subSlotToElicit", async () => {
      const response = await post(addressEvent(null)).expect(200);
      expect(response.body.sessionState.dialogAction).toEqual({
        type: 'ElicitSlot',
        slotToElicit: 'address',
        subSlotToElicit: { name: 'city' },
      });
      expect(response.body.sessionState.intent.slots).toEqual({ address: address(null) });
      expect(response.body.messages).toEqual([{ contentType: 'PlainText', content: 'Which city?' }]);
    });

    it('splits a reply over 1000 characters into several messages instead of apologising', async () => {
      const response = await post(lexEvent('TestLongReply', {})).expect(200);
      const contents = (response.body.messages as { contentType: string; content: string }[]).map((m) => m.content);
      expect(contents.length).toBe(3);
      expect(contents.every((content) => content.length <= 1000 && content.endsWith('.'))).toBe(true);
      expect(contents.join(' ')).toMatch(
        /^Statement line 1 lists .* Statement line 40 lists one of your recent payments\.$/,
      );
      expect(response.body.sessionState.intent.state).toBe('Fulfilled');
    });

    it('passes runtimeHints and proposedNextState to the handler', async () => {
      const event = lexEvent('TestPlatformDetails', {}) as Json & { sessionState: Json };
      const runtimeHints = {
        slotHints: { TestPlatformDetails: { city: { runtimeHintValues: [{ phrase: 'Springfield' }] } } },
      };
      const proposedNextState = { dialogAction: { type: 'ElicitSlot', slotToElicit: 'city' }, intent: { name: 'x' } };
      event.sessionState.runtimeHints = runtimeHints;
      event.proposedNextState = proposedNextState;
      const response = await post(event).expect(200);
      const payload = (response.body.messages as { contentType: string; content: string }[]).at(-1)!;
      expect(payload.contentType).toBe('CustomPayload');
      expect(JSON.parse(payload.content)).toEqual({ details: { runtimeHints, proposedNextState } });
    });
  });

  describe('errors', () => {
    it('400 naming every invalid field', async () => {
      const response = await post({
        messageVersion: '1.0',
        invocationSource: 'SomethingElse',
        sessionId: '',
        bot: { id: 'B', name: 'Bot', localeId: 'english' },
        sessionState: {
          sessionAttributes: { visits: 2 },
          intent: { name: 'GetAccountBalance', slots: { user_id: { value: { interpretedValue: 12345 } } } },
        },
      }).expect(400);
      expect(response.body.error).toBe('VALIDATION_FAILED');
      const fields = (response.body.details as { field: string }[]).map((d) => d.field);
      expect(fields).toEqual(
        expect.arrayContaining([
          'invocationSource',
          'sessionId',
          'bot.localeId',
          'sessionState.sessionAttributes',
          'sessionState.intent.slots',
        ]),
      );
      expect(response.body.details).toContainEqual({
        field: 'sessionState.intent.slots',
        problem: 'slot "user_id".value.interpretedValue must be a string',
      });
    });

    it('400 when sessionState.intent is missing', async () => {
      const body = structuredClone(balanceFulfillment) as Json & { sessionState: Json };
      delete body.sessionState.intent;
      const response = await post(body).expect(400);
      expect(response.body.details).toEqual([{ field: 'sessionState.intent', problem: 'is required' }]);
    });

    it('401 without a token', async () => {
      const response = await request(t.baseUrl).post(PATH).send(balanceFulfillment).expect(401);
      expect(response.body).toMatchObject({ statusCode: 401, error: 'UNAUTHENTICATED' });
    });
  });
});
