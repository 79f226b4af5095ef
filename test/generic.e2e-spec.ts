import { Module } from '@nestjs/common';
import request from 'supertest';
import { FulfillmentHandler, FulfillmentResult, IntentHandler } from '../src/fulfillment';
import balanceFixture from './fixtures/generic/get-account-balance.json';
import transactionsFixture from './fixtures/generic/get-recent-transactions.json';
import unknownFieldsFixture from './fixtures/generic/unknown-fields.json';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';
import { SlowHandler, TestHandlersModule } from './support/test-handlers';

const PATH = '/v1/webhooks/generic';
const DEADLINE_MS = 400;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ERROR_TEXT = 'Sorry, something went wrong on our side. Please try again in a moment.';

/** Answers more than the generic 256 KiB limit. */
@IntentHandler('TestGenericHuge')
class HugeHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    return Promise.resolve({ text: 'x'.repeat(300 * 1024) });
  }
}

@Module({ providers: [HugeHandler] })
class GenericTestHandlersModule {}

describe('Generic webhook (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: { GENERIC_DEADLINE_MS: String(DEADLINE_MS) },
      imports: [TestHandlersModule, GenericTestHandlersModule],
    });
  });
  afterAll(async () => {
    t.app.get(SlowHandler).releaseNow();
    await t.close();
  });

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    request(t.baseUrl)
      .post(PATH)
      .set(LOCAL_DEV_AUTH)
      .set(headers)
      .send(body as object);

  const turn = (intent: string, parameters: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
    sessionId: 'session-1',
    intent,
    parameters,
    ...extra,
  });

  describe('fixtures', () => {
    it('GetAccountBalance: the seeded checking balance of user 12345, field by field', async () => {
      const response = await post(balanceFixture)
        .expect(200)
        .expect('Content-Type', /application\/json/);
      expect(response.body).toEqual({
        requestId: '7f1c2e4a-9b3d-4c6e-8f1a-2b3c4d5e6f70',
        outcome: 'fulfilled',
        text: 'Your checking account balance is $3,247.82. Would you like to see recent transactions?',
        messages: [
          { type: 'text', text: 'Your checking account balance is $3,247.82.' },
          {
            type: 'quick-replies',
            title: 'Would you like to see recent transactions?',
            replies: ['Show recent transactions', 'No, thanks'],
          },
        ],
        contexts: [
          {
            name: 'account-info',
            lifespan: 5,
            parameters: {
              user_id: '12345',
              account_type: 'checking',
              balance: 3247.82,
              currency: 'USD',
              last_updated: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
            },
          },
        ],
        source: 'banking-api',
      });
    });

    it('GetRecentTransactions: the 3 newest transactions from the database', async () => {
      const response = await post(transactionsFixture).expect(200);
      const rows = await queryTestDatabase<{ description: string }>(
        t.database.url,
        `SELECT t.description FROM transactions t JOIN accounts a ON a.id = t.account_id
           JOIN customers c ON c.id = a.customer_id
          WHERE c.customer_number = '12345' AND a.account_type = 'checking' ORDER BY t.posted_at DESC, t.id LIMIT 3`,
      );
      expect(rows).toHaveLength(3);
      expect(response.body.requestId).toBe('0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f50');
      expect(response.body.outcome).toBe('fulfilled');
      expect(response.body.text).toMatch(/^Here are the last 3 transactions on your checking account: /);
      expect(response.body.messages).toHaveLength(4);
      expect(response.body.messages[0]).toEqual({
        type: 'text',
        text: 'Here are the last 3 transactions on your checking account:',
      });
      rows.forEach((row, index) => {
        expect(response.body.messages[index + 1]).toEqual({
          type: 'text',
          text: expect.stringContaining(row.description),
        });
        expect(response.body.text).toContain(row.description);
      });
      expect(response.body.contexts).toEqual([
        { name: 'account-info', lifespan: 5, parameters: { user_id: '12345', account_type: 'checking' } },
      ]);
      expect(response.body.source).toBe('banking-api');
      expect(Object.keys(response.body).sort()).toEqual(
        ['contexts', 'messages', 'outcome', 'requestId', 'source', 'text'].sort(),
      );
    });

    it('ignores unknown fields at every level (and generates a requestId)', async () => {
      const response = await post(unknownFieldsFixture).expect(200);
      expect(response.body.outcome).toBe('fulfilled');
      expect(response.body.text).toContain('$3,247.82');
      expect(response.body.requestId).toMatch(UUID);
    });
  });

  describe('requestId', () => {
    it('uses the Idempotency-Key header when the body has none', async () => {
      const response = await post(turn('GetAccountBalance', { user_id: '12345', account_type: 'checking' }), {
        'Idempotency-Key': 'order-2026-0042',
      }).expect(200);
      expect(response.body.requestId).toBe('order-2026-0042');
    });

    it('prefers the body requestId over the header', async () => {
      const response = await post(turn('NoSuchIntent', {}, { requestId: 'from-body' }), {
        'Idempotency-Key': 'from-header',
      }).expect(200);
      expect(response.body.requestId).toBe('from-body');
    });

    it('generates a fresh UUID for each request without either', async () => {
      const [a, b] = await Promise.all([post(turn('NoSuchIntent')), post(turn('NoSuchIntent'))]);
      expect(a.body.requestId).toMatch(UUID);
      expect(b.body.requestId).toMatch(UUID);
      expect(a.body.requestId).not.toBe(b.body.requestId);
    });

    it('rejects an unusable Idempotency-Key with 400 naming the header', async () => {
      const response = await post(turn('NoSuchIntent'), { 'Idempotency-Key': 'k'.repeat(256) }).expect(400);
      expect(response.body).toMatchObject({ statusCode: 400, error: 'VALIDATION_FAILED' });
      expect(response.body.details).toEqual([{ field: 'Idempotency-Key', problem: expect.any(String) }]);
    });
  });

  describe('conversation features are all visible', () => {
    const feature = (name: string, extra: Record<string, unknown> = {}) =>
      post(turn('TestConversation', { feature: name }, extra)).expect(200);

    it('session parameters: the request values reach the handler; changes come back with null removals', async () => {
      const response = await feature('session', { sessionParameters: { visits: 4, other: 'kept' } });
      expect(response.body).toEqual({
        requestId: expect.stringMatching(UUID),
        outcome: 'fulfilled',
        text: 'visit 5',
        messages: [{ type: 'text', text: 'visit 5' }],
        sessionParameters: { visits: 5, obsolete: null },
      });
    });

    it('elicit', async () => {
      const response = await feature('elicit');
      expect(response.body).toMatchObject({ text: 'Which date?', elicit: { parameter: 'date', invalid: true } });
    });

    it('confirm', async () => {
      const response = await feature('confirm');
      expect(response.body).toMatchObject({ text: 'Book it?', confirm: true });
      expect(response.body.messages).toEqual([{ type: 'text', text: 'Book it?' }]);
    });

    it('handoff', async () => {
      const response = await feature('handoff');
      expect(response.body).toMatchObject({
        text: 'Connecting you to an agent.',
        handoff: { reason: 'asked for a human' },
      });
    });

    it('end of conversation', async () => {
      expect((await feature('end')).body).toMatchObject({ text: 'Goodbye.', endConversation: true });
    });

    it('delegate: reported as delegated, with empty text, no messages, the flag and the session values', async () => {
      const response = await feature('delegate');
      expect(response.body).toEqual({
        requestId: expect.stringMatching(UUID),
        outcome: 'delegated',
        text: '',
        messages: [],
        delegate: true,
        sessionParameters: { visits: 1 },
      });
    });

    it('a handler that does not act at the dialog stage is reported as delegated', async () => {
      const response = await post(turn('GetAccountBalance', { user_id: '12345' }, { stage: 'dialog' })).expect(200);
      expect(response.body).toMatchObject({ outcome: 'delegated', text: '', messages: [], delegate: true });
    });

    it('every rich message type, contexts by name, followup event and payload', async () => {
      const response = await post(
        turn('TestRich', {}, { contexts: [{ name: 'previous', lifespan: 2, parameters: { a: 1 } }, { name: 'x' }] }),
      ).expect(200);
      expect(response.body).toEqual({
        requestId: expect.stringMatching(UUID),
        outcome: 'fulfilled',
        text: 'echo TestRich',
        messages: [
          { type: 'text', text: 'hello' },
          { type: 'quick-replies', title: 'Pick', replies: ['a', 'b'] },
          {
            type: 'card',
            title: 'Card',
            subtitle: 'Sub',
            imageUrl: 'https://example.com/i.png',
            buttons: [{ text: 'Go', postback: 'go' }],
          },
          { type: 'image', imageUrl: 'https://example.com/j.png', accessibilityText: 'J' },
          { type: 'payload', payload: { custom: { nested: true } } },
        ],
        contexts: [{ name: 'echo', lifespan: 3, parameters: { contexts: ['previous', 'x'] } }],
        followupEvent: { name: 'NEXT_STEP', parameters: { step: 2 }, languageCode: 'en' },
        payload: { google: { expectUserResponse: true } },
      });
    });
  });

  describe('outcomes', () => {
    it('fallback for an unknown intent, with 200', async () => {
      const response = await post(turn('NoSuchIntent')).expect(200);
      const text = "Sorry, I can't help with that yet. Could you try asking another way?";
      expect(response.body).toEqual({
        requestId: expect.stringMatching(UUID),
        outcome: 'fallback',
        text,
        messages: [{ type: 'text', text }],
      });
    });

    it('failed for a failing handler, without internals', async () => {
      const response = await post(turn('TestExplode')).expect(200);
      expect(response.body).toMatchObject({ outcome: 'failed', text: ERROR_TEXT, failed: true });
      expect(response.text).not.toMatch(/secret-internal-detail/);
    });

    it('timed-out with the interim reply when the handler outlives the deadline', async () => {
      const slow = t.app.get(SlowHandler);
      const response = await post(turn('TestSlow')).expect(200);
      expect(response.body).toMatchObject({
        outcome: 'timed-out',
        text: "I'm still working on that. Please ask me again in a moment.",
      });
      slow.releaseNow();
    });

    it('replaces a response over 256 KiB with the error reply (a 70 KiB one goes through)', async () => {
      const huge = await post(turn('TestGenericHuge', {}, { requestId: 'big-1' })).expect(200);
      expect(huge.body).toEqual({
        requestId: 'big-1',
        outcome: 'failed',
        text: ERROR_TEXT,
        messages: [{ type: 'text', text: ERROR_TEXT }],
        failed: true,
      });
      const large = await post(turn('TestOversized')).expect(200);
      expect(large.body.text).toHaveLength(70 * 1024);
    });
  });

  describe('errors', () => {
    it('400 naming every invalid field', async () => {
      const response = await post({
        intent: '',
        parameters: 'x',
        languageCode: 'not a language',
        stage: 'later',
        confirmation: 'maybe',
        contexts: [{ lifespan: -1 }],
      }).expect(400);
      expect(response.body).toMatchObject({ statusCode: 400, error: 'VALIDATION_FAILED' });
      const fields = (response.body.details as { field: string }[]).map((d) => d.field);
      expect(new Set(fields)).toEqual(
        new Set([
          'sessionId',
          'intent',
          'parameters',
          'languageCode',
          'stage',
          'confirmation',
          'contexts.0.name',
          'contexts.0.lifespan',
        ]),
      );
      expect(response.body.details).toContainEqual({ field: 'sessionId', problem: 'is required' });
      expect(response.body.message).toMatch(/^Generic webhook request is invalid: /);
      expect(response.body.requestId).toBe(response.headers['x-request-id']);
    });

    it('400 for a body that is not an object', async () => {
      expect((await post([1, 2]).expect(400)).body.error).toBe('VALIDATION_FAILED');
    });

    it('401 without credentials or with a wrong token', async () => {
      const none = await request(t.baseUrl).post(PATH).send(balanceFixture).expect(401);
      expect(none.body).toMatchObject({ statusCode: 401, error: 'UNAUTHENTICATED' });
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
      const wrong = await request(t.baseUrl)
        .post(PATH)
        .set('Authorization', 'Bearer wrong-token')
        .send(balanceFixture)
        .expect(401);
      expect(wrong.body.error).toBe('UNAUTHENTICATED');
    });
  });

  describe('OpenAPI', () => {
    it('serves a valid OpenAPI 3 document listing the webhook routes', async () => {
      const response = await request(t.baseUrl)
        .get('/openapi.json')
        .expect(200)
        .expect('Content-Type', /application\/json/);
      const document = response.body;
      expect(document.openapi).toMatch(/^3\.\d+\.\d+$/);
      expect(document.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
      for (const path of [PATH, '/v1/webhooks/dialogflow-es']) {
        const operation = document.paths[path]?.post;
        expect(operation).toBeDefined();
        expect(operation.responses['200']).toBeDefined();
        expect(operation.responses['401'].content['application/json'].schema).toEqual({
          $ref: '#/components/schemas/ErrorResponseSchema',
        });
        expect(operation.security).toEqual(expect.arrayContaining([{ bearer: [] }, { mutualTLS: [] }]));
      }
      const generic = document.paths[PATH].post;
      expect(generic.tags).toEqual(['generic']);
      expect(generic.requestBody.content['application/json'].schema).toEqual({
        $ref: '#/components/schemas/GenericWebhookRequest',
      });
      expect(generic.responses['200'].content['application/json'].schema).toEqual({
        $ref: '#/components/schemas/GenericWebhookResponseSchema',
      });
      expect(document.components.schemas.GenericWebhookRequest.required).toEqual(
        expect.arrayContaining(['sessionId', 'intent']),
      );
      expect(Object.keys(document.components.securitySchemes).sort()).toEqual(
        [
          'basic',
          'bearer',
          'header-signature',
          'mutualTLS',
          'query-token',
          'webhook-id',
          'webhook-signature',
          'webhook-timestamp',
        ].sort(),
      );
      // Every $ref points at a schema that exists.
      const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map(
        (m) => m[1],
      );
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) expect(document.components.schemas).toHaveProperty([ref]);
      // The docs routes themselves are not webhooks and are not in the document.
      expect(Object.keys(document.paths).every((path) => path.startsWith('/v1/'))).toBe(true);
    });

    it('serves Swagger UI at /docs from the installed files, without authentication', async () => {
      const page = await request(t.baseUrl)
        .get('/docs')
        .expect(200)
        .expect('Content-Type', /text\/html/);
      expect(page.text).toContain('swagger-ui');
      expect(page.text).not.toMatch(/https?:\/\/(?:unpkg|cdn)/);
      const init = await request(t.baseUrl).get('/docs/swagger-ui-init.js').expect(200);
      expect(init.text).toContain('/v1/webhooks/generic');
      await request(t.baseUrl)
        .get('/docs/swagger-ui-bundle.js')
        .expect(200)
        .expect('Content-Type', /javascript/);
      await request(t.baseUrl).get('/docs/swagger-ui.css').expect(200).expect('Content-Type', /css/);
    });

    it('keeps our JSON error format for unknown routes next to the docs', async () => {
      const response = await request(t.baseUrl).get('/docs-nothing-here').expect(404);
      expect(response.body).toMatchObject({ statusCode: 404, error: 'NOT_FOUND' });
    });
  });
});
