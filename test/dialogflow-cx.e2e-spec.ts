import { Module } from '@nestjs/common';
import request from 'supertest';
import { FulfillmentHandler, FulfillmentRequest, FulfillmentResult, IntentHandler } from '../src/fulfillment';
import invalidFormRequest from './fixtures/dialogflow-cx/form-parameter-invalid.json';
import balanceRequest from './fixtures/dialogflow-cx/get-account-balance.json';
import transactionsRequest from './fixtures/dialogflow-cx/get-recent-transactions.json';
import unknownFieldsRequest from './fixtures/dialogflow-cx/unknown-fields.json';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';
import { TestHandlersModule } from './support/test-handlers';

const PATH = '/v1/webhooks/dialogflow-cx';
const AUTH = { Authorization: 'Bearer local-dev-token' };
const AGENT = 'projects/project-id/locations/global/agents/agent-id';
const FLOW = `${AGENT}/flows/00000000-0000-0000-0000-000000000000`;
const SESSION = `${AGENT}/sessions/session-id`;
const ERROR_TEXT = 'Sorry, something went wrong on our side. Please try again in a moment.';

/** Transitions are a CX-only feature no shared test handler uses; `transition` picks one. */
@IntentHandler('TestCxTransition')
class TransitionHandler implements FulfillmentHandler {
  handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    switch (request.parameters.transition) {
      case 'page':
        return Promise.resolve({ text: 'Moving on.', transition: { page: 'Confirm' } });
      case 'flow':
        return Promise.resolve({ text: 'Billing it is.', transition: { flow: 'billing' } });
      default:
        return Promise.resolve({ text: 'Both?', transition: { page: 'Confirm', flow: 'billing' } });
    }
  }
}

@Module({ providers: [TransitionHandler] })
class CxTestHandlersModule {}

/** A CX request whose parameters arrive as matched-intent parameters, on a page without a form. */
function cxRequest(tag: string, parameters: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}) {
  return {
    detectIntentResponseId: `resp-${Math.random().toString(36).slice(2)}`,
    intentInfo: {
      lastMatchedIntent: `${AGENT}/intents/intent-id`,
      displayName: 'some.intent',
      parameters: Object.fromEntries(
        Object.entries(parameters).map(([name, value]) => [
          name,
          { originalValue: String(value), resolvedValue: value },
        ]),
      ),
      confidence: 1,
    },
    pageInfo: { currentPage: `${FLOW}/pages/current-page`, displayName: 'Current' },
    sessionInfo: { session: SESSION, parameters: {} },
    fulfillmentInfo: { tag },
    text: 'test',
    languageCode: 'en',
    ...overrides,
  };
}

const textOf = (text: string) => ({ text: { text: [text] } });
const chips = (...options: string[]) => ({
  payload: { richContent: [[{ type: 'chips', options: options.map((text) => ({ text })) }]] },
});

describe('Dialogflow CX webhook (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ imports: [TestHandlersModule, CxTestHandlersModule] });
  });
  afterAll(async () => {
    await t.close();
  });

  const post = (body: unknown) =>
    request(t.baseUrl)
      .post(PATH)
      .set(AUTH)
      .send(body as object);

  describe('fixtures', () => {
    it('answers GetAccountBalance with the seeded checking balance, field by field', async () => {
      const response = await post(balanceRequest)
        .expect(200)
        .expect('Content-Type', /application\/json/);
      expect(response.body).toEqual({
        fulfillmentResponse: {
          messages: [
            textOf('Your checking account balance is $3,247.82.'),
            textOf('Would you like to see recent transactions?'),
            chips('Show recent transactions', 'No, thanks'),
          ],
          mergeBehavior: 'APPEND',
        },
      });
    });

    it('answers GetRecentTransactions with the requested count from the database, newest first', async () => {
      const response = await post(transactionsRequest).expect(200);
      const messages = response.body.fulfillmentResponse.messages as { text: { text: string[] } }[];
      expect(response.body.fulfillmentResponse.mergeBehavior).toBe('APPEND');
      expect(messages).toHaveLength(4);
      expect(messages[0]).toEqual(textOf('Here are the last 3 transactions on your savings account:'));
      const rows = await queryTestDatabase<{ description: string }>(
        t.database.url,
        `SELECT t.description FROM transactions t JOIN accounts a ON a.id = t.account_id
           JOIN customers c ON c.id = a.customer_id
          WHERE c.customer_number = '12345' AND a.account_type = 'savings' ORDER BY t.posted_at DESC, t.id LIMIT 3`,
      );
      expect(rows).toHaveLength(3);
      rows.forEach((row, index) => {
        expect(messages[index + 1].text.text).toEqual([expect.stringContaining(row.description)]);
      });
      expect(Object.keys(response.body)).toEqual(['fulfillmentResponse']);
    });

    it('lets CX go on re-prompting for an INVALID form parameter (dialog stage, handler only fulfils)', async () => {
      const response = await post(invalidFormRequest).expect(200);
      expect(response.body).toEqual({ fulfillmentResponse: {} });
    });

    it('ignores fields it does not know at every level', async () => {
      const response = await post(unknownFieldsRequest).expect(200);
      expect(response.body.fulfillmentResponse.messages[0]).toEqual(
        textOf('Your savings account balance is $12,500.00.'),
      );
    });
  });

  describe('routing', () => {
    it('routes by intentInfo.displayName when the tag is empty', async () => {
      const body = cxRequest('', { user_id: '12345', account_type: 'checking' });
      body.intentInfo.displayName = 'GetAccountBalance';
      const response = await post(body).expect(200);
      expect(response.body.fulfillmentResponse.messages[0]).toEqual(
        textOf('Your checking account balance is $3,247.82.'),
      );
    });

    it('answers an unknown tag with the fallback reply and 200', async () => {
      const response = await post(cxRequest('NoSuchTag')).expect(200);
      expect(response.body).toEqual({
        fulfillmentResponse: {
          messages: [textOf("Sorry, I can't help with that yet. Could you try asking another way?")],
          mergeBehavior: 'APPEND',
        },
      });
    });

    it('answers a failing handler politely, without internals', async () => {
      const response = await post(cxRequest('TestExplode')).expect(200);
      expect(response.body.fulfillmentResponse.messages).toEqual([textOf(ERROR_TEXT)]);
      expect(JSON.stringify(response.body)).not.toMatch(/secret-internal-detail/);
    });
  });

  describe('conversation features', () => {
    const feature = (name: string, overrides: Record<string, unknown> = {}) =>
      post(cxRequest('TestConversation', { feature: name }, overrides)).expect(200);

    it('round-trips session parameters; null removes one, as CX does', async () => {
      const first = await feature('session');
      expect(first.body).toEqual({
        fulfillmentResponse: { messages: [textOf('visit 1')], mergeBehavior: 'APPEND' },
        sessionInfo: { parameters: { visits: 1, obsolete: null } },
      });
      // CX applies the change and sends the session's parameters back on the next turn.
      const second = await feature('session', {
        sessionInfo: { session: SESSION, parameters: { visits: 1, other: 'kept' } },
      });
      expect(second.body.fulfillmentResponse.messages).toEqual([textOf('visit 2')]);
      expect(second.body.sessionInfo).toEqual({ parameters: { visits: 2, obsolete: null } });
    });

    it('elicits an INVALID parameter with the re-prompt as the message', async () => {
      expect((await feature('elicit')).body).toEqual({
        fulfillmentResponse: { messages: [textOf('Which date?')], mergeBehavior: 'APPEND' },
        pageInfo: { formInfo: { parameterInfo: [{ displayName: 'date', required: true, state: 'INVALID' }] } },
        // Cleared, so that CX collects it again (Google's form-validation sample does the same).
        sessionInfo: { parameters: { date: null } },
      });
    });

    it('asks for confirmation with Yes/No chips', async () => {
      expect((await feature('confirm')).body.fulfillmentResponse.messages).toEqual([
        textOf('Book it?'),
        chips('Yes', 'No'),
      ]);
    });

    it('hands off to a live agent', async () => {
      expect((await feature('handoff')).body.fulfillmentResponse.messages).toEqual([
        textOf('Connecting you to an agent.'),
        { liveAgentHandoff: { metadata: { reason: 'asked for a human' } } },
      ]);
    });

    it("ends the conversation on the flow's END_SESSION page, as a success", async () => {
      const ended = (await feature('end')).body;
      expect(ended.fulfillmentResponse.messages).toEqual([textOf('Goodbye.'), { conversationSuccess: {} }]);
      // conversationSuccess is for CX's analytics only: the session ends where the flow goes to END_SESSION.
      expect(ended.targetPage).toBe(`${FLOW}/pages/END_SESSION`);
    });

    it('answers a delegated turn with an empty fulfillment response, keeping session parameters', async () => {
      expect((await feature('delegate')).body).toEqual({
        fulfillmentResponse: {},
        sessionInfo: { parameters: { visits: 1 } },
      });
    });

    it('renders rich messages as Dialogflow Messenger richContent, and the payload', async () => {
      const response = await post(cxRequest('TestRich')).expect(200);
      expect(response.body).toEqual({
        fulfillmentResponse: {
          messages: [
            textOf('hello'),
            textOf('Pick'),
            chips('a', 'b'),
            {
              payload: {
                richContent: [
                  [
                    { type: 'info', title: 'Card', subtitle: 'Sub', image: { rawUrl: 'https://example.com/i.png' } },
                    { type: 'chips', options: [{ text: 'Go' }] },
                  ],
                ],
              },
            },
            {
              payload: {
                richContent: [[{ type: 'image', rawUrl: 'https://example.com/j.png', accessibilityText: 'J' }]],
              },
            },
            { payload: { custom: { nested: true } } },
          ],
          mergeBehavior: 'APPEND',
        },
        payload: { google: { expectUserResponse: true } },
      });
    });
  });

  describe('transitions', () => {
    const transition = (kind: string) => post(cxRequest('TestCxTransition', { transition: kind })).expect(200);

    it('sends a page id as a targetPage in the current flow', async () => {
      const response = await transition('page');
      expect(response.body.targetPage).toBe(`${FLOW}/pages/Confirm`);
      expect(response.body).not.toHaveProperty('targetFlow');
    });

    it('sends a flow id as a targetFlow of the agent', async () => {
      const response = await transition('flow');
      expect(response.body.targetFlow).toBe(`${AGENT}/flows/billing`);
      expect(response.body).not.toHaveProperty('targetPage');
    });

    it('refuses a page and a flow together and answers the polite error instead', async () => {
      const response = await transition('both');
      expect(response.body).toEqual({
        fulfillmentResponse: { messages: [textOf(ERROR_TEXT)], mergeBehavior: 'APPEND' },
      });
    });
  });

  it('replaces an oversized response (over 64 KiB) with the polite error', async () => {
    const response = await post(cxRequest('TestOversized')).expect(200);
    expect(response.body.fulfillmentResponse.messages).toEqual([textOf(ERROR_TEXT)]);
    expect(response.text.length).toBeLessThan(1024);
  });

  describe('multi-turn slot filling', () => {
    const page = (accountType?: string) => ({
      currentPage: `${FLOW}/pages/account-balance`,
      displayName: 'Account Balance',
      formInfo: {
        parameterInfo: [
          { displayName: 'user_id', required: true, state: 'FILLED', value: '12345' },
          accountType === undefined
            ? { displayName: 'account_type', state: 'EMPTY' }
            : { displayName: 'account_type', state: 'FILLED', value: accountType, justCollected: true },
        ],
      },
    });

    it('asks which account when account_type is missing, then answers with the balance', async () => {
      const first = await post(
        cxRequest(
          'GetAccountBalance',
          {},
          { pageInfo: page(), sessionInfo: { session: SESSION, parameters: { user_id: '12345' } } },
        ),
      ).expect(200);
      // The banking handler asks for account_type (an elicit), offering the customer's accounts as chips.
      expect(first.body).toEqual({
        fulfillmentResponse: {
          messages: [
            textOf('Which account would you like the balance for: checking or savings?'),
            chips('checking', 'savings'),
          ],
          mergeBehavior: 'APPEND',
        },
        pageInfo: {
          formInfo: { parameterInfo: [{ displayName: 'account_type', required: true, state: 'INVALID' }] },
        },
        sessionInfo: { parameters: { account_type: null } },
      });

      const second = await post(
        cxRequest(
          'GetAccountBalance',
          { account_type: 'savings' },
          {
            text: 'savings',
            pageInfo: page('savings'),
            sessionInfo: { session: SESSION, parameters: { user_id: '12345', account_type: 'savings' } },
          },
        ),
      ).expect(200);
      expect(second.body.fulfillmentResponse.messages[0]).toEqual(
        textOf('Your savings account balance is $12,500.00.'),
      );
    });
  });

  describe('errors', () => {
    it('400 naming every invalid field', async () => {
      const response = await post({
        detectIntentResponseId: '',
        sessionInfo: { session: 'projects/p/agent/sessions/s' },
        intentInfo: { displayName: 5, confidence: 'high' },
        pageInfo: { formInfo: { parameterInfo: [{ state: 'DONE' }] } },
      }).expect(400);
      expect(response.body.error).toBe('VALIDATION_FAILED');
      const fields = (response.body.details as { field: string }[]).map((d) => d.field);
      expect(new Set(fields)).toEqual(
        new Set([
          'detectIntentResponseId',
          'sessionInfo.session',
          'intentInfo.displayName',
          'pageInfo.formInfo.parameterInfo.0.displayName',
          'pageInfo.formInfo.parameterInfo.0.state',
        ]),
      );
    });

    it('400 when neither a tag nor an intent says what to fulfil', async () => {
      const body = cxRequest('');
      delete (body as { intentInfo?: unknown }).intentInfo;
      const response = await post(body).expect(400);
      expect(response.body.details).toEqual([
        { field: 'fulfillmentInfo.tag', problem: 'is required when intentInfo.displayName is absent' },
      ]);
    });

    it('400 for a JSON body that is not an object', async () => {
      expect((await post([1, 2]).expect(400)).body.error).toBe('VALIDATION_FAILED');
    });

    it('401 without a token', async () => {
      const response = await request(t.baseUrl).post(PATH).send(balanceRequest).expect(401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(response.body).toMatchObject({ statusCode: 401, error: 'UNAUTHENTICATED' });
    });

    it('401 for a wrong token', async () => {
      await request(t.baseUrl).post(PATH).set('Authorization', 'Bearer nope').send(balanceRequest).expect(401);
    });
  });
});
