import request from 'supertest';
import { esRequest, LOCAL_DEV_AUTH, README_REQUEST } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';
import { SlowHandler, TestHandlersModule } from './support/test-handlers';

const PATH = '/v1/webhooks/dialogflow-es';
const DEADLINE_MS = 400;

describe('Dialogflow ES webhook (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: { DIALOGFLOW_ES_DEADLINE_MS: String(DEADLINE_MS), BODY_LIMIT_BYTES: '4096', LATE_WORK_TIMEOUT_MS: '300' },
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
      .send(body as object);

  describe('the README request', () => {
    it('answers with the seeded checking balance in the ES response format', async () => {
      const response = await post(README_REQUEST)
        .expect(200)
        .expect('Content-Type', /application\/json/);
      expect(response.body).toEqual({
        fulfillmentText: 'Your checking account balance is $3,247.82. Would you like to see recent transactions?',
        fulfillmentMessages: [
          { text: { text: ['Your checking account balance is $3,247.82.'] } },
          {
            quickReplies: {
              title: 'Would you like to see recent transactions?',
              quickReplies: ['Show recent transactions', 'No, thanks'],
            },
          },
        ],
        outputContexts: [
          {
            name: 'projects/project-id/agent/sessions/session-id/contexts/account-info',
            lifespanCount: 5,
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

    it('reads the balance from the database, not from code', async () => {
      // A customer written straight into the database, whom no other test of this file reads (so nothing of theirs
      // is cached; a change to a cached balance made behind the service's back shows after the cache's TTL).
      const customer = '24680';
      await queryTestDatabase(
        t.database.url,
        `WITH c AS (INSERT INTO customers (id, customer_number, full_name)
                    VALUES (gen_random_uuid(), $1, 'Outside Change') RETURNING id)
         INSERT INTO accounts (id, customer_id, account_type, account_number_last4, currency, balance_minor,
                               balance_updated_at)
         SELECT gen_random_uuid(), c.id, 'checking', '2468', 'USD', 100000001, now() FROM c`,
        [customer],
      );
      const response = await post(esRequest('GetAccountBalance', { user_id: customer, account_type: 'checking' }));
      expect(response.status).toBe(200);
      expect(response.body.fulfillmentText).toContain('$1,000,000.01');
    });
  });

  describe('session names', () => {
    const forms = [
      'projects/p1/agent/sessions/s1',
      'projects/p1/agent/environments/prod/users/u-9/sessions/s1',
      'projects/p1/locations/europe-west2/agent/sessions/s1',
      'projects/p1/locations/global/agent/environments/draft/users/-/sessions/s1',
    ];
    it.each(forms)('accepts %s and qualifies output contexts with it', async (session) => {
      const response = await post({ ...README_REQUEST, session }).expect(200);
      expect(response.body.outputContexts[0].name).toBe(`${session}/contexts/account-info`);
    });

    it.each(['projects/p1/sessions/s1', 'projects//agent/sessions/s1', 'sessions/s1', 'projects/p/agent/sessions/s/'])(
      'rejects the malformed session %s with 400 naming the field',
      async (session) => {
        const response = await post({ ...README_REQUEST, session }).expect(400);
        expect(response.body.error).toBe('VALIDATION_FAILED');
        expect(response.body.details).toEqual([{ field: 'session', problem: expect.stringContaining('session name') }]);
      },
    );
  });

  it('ignores fields it does not know at every level', async () => {
    const body = {
      ...README_REQUEST,
      someNewGoogleField: { x: 1 },
      queryResult: {
        ...README_REQUEST.queryResult,
        brandNewThing: [1, 2, 3],
        intent: { ...README_REQUEST.queryResult.intent, futureFlag: true },
        sentimentAnalysisResult: { queryTextSentiment: { score: 0.2, magnitude: 0.2 } },
      },
      originalDetectIntentRequest: { source: 'google', version: '2', payload: {}, extra: 'x' },
    };
    const response = await post(body).expect(200);
    expect(response.body.fulfillmentText).toContain('$3,247.82');
  });

  it('fulfils a request from an agent with knowledge connectors (alternative results without an intent)', async () => {
    const body = {
      ...README_REQUEST,
      queryResult: { ...README_REQUEST.queryResult, intentDetectionConfidence: 0.62 },
      alternativeQueryResults: [
        {
          queryText: README_REQUEST.queryResult.queryText,
          knowledgeAnswers: {
            answers: [
              {
                source: 'projects/p/knowledgeBases/kb/documents/faq',
                faqQuestion: 'How do I check my balance?',
                answer: 'Open the app and tap Accounts.',
                matchConfidenceLevel: 'HIGH',
                matchConfidence: 0.87,
              },
            ],
          },
          languageCode: 'en',
        },
      ],
    };
    const response = await post(body).expect(200);
    expect(response.body.fulfillmentText).toContain('$3,247.82');
  });

  it('passes input contexts by short name and renders every rich message type', async () => {
    const session = 'projects/p/agent/sessions/abc';
    const response = await post(
      esRequest(
        'TestRich',
        {},
        {
          session,
          queryResult: {
            intent: { displayName: 'TestRich' },
            allRequiredParamsPresent: true,
            outputContexts: [{ name: `${session}/contexts/previous`, lifespanCount: 2, parameters: { a: 1 } }],
          },
        },
      ),
    ).expect(200);
    expect(response.body).toEqual({
      fulfillmentText: 'echo TestRich',
      fulfillmentMessages: [
        { text: { text: ['hello'] } },
        { quickReplies: { title: 'Pick', quickReplies: ['a', 'b'] } },
        {
          card: {
            title: 'Card',
            subtitle: 'Sub',
            imageUri: 'https://example.com/i.png',
            buttons: [{ text: 'Go', postback: 'go' }],
          },
        },
        { image: { imageUri: 'https://example.com/j.png', accessibilityText: 'J' } },
        { payload: { custom: { nested: true } } },
      ],
      outputContexts: [{ name: `${session}/contexts/echo`, lifespanCount: 3, parameters: { contexts: ['previous'] } }],
      followupEventInput: { name: 'NEXT_STEP', languageCode: 'en', parameters: { step: 2 } },
      payload: { google: { expectUserResponse: true } },
      source: 'webhook-fulfillment',
    });
  });

  describe('conversation features degrade to what Dialogflow ES supports', () => {
    const feature = (name: string, overrides: Record<string, unknown> = {}) =>
      post(esRequest('TestConversation', { feature: name }, overrides)).expect(200);
    const session = 'projects/project-id/agent/sessions/session-id';

    it('keeps session parameters in a long-lived context; null removes one', async () => {
      const first = await feature('session');
      const context = first.body.outputContexts[0];
      expect(context).toEqual({
        name: `${session}/contexts/session-parameters`,
        lifespanCount: 50,
        // One level down: the parameters ES copies into every active context do not reach the session's values.
        parameters: { 'webhook-session': { visits: 1 } },
      });
      const second = await feature('session', {
        queryResult: {
          intent: { displayName: 'TestConversation' },
          parameters: { feature: 'session' },
          allRequiredParamsPresent: true,
          // Written flat, as an earlier release did: still read.
          outputContexts: [{ ...context, parameters: { visits: 1, obsolete: 'x', other: 'kept' } }],
        },
      });
      expect(second.body.fulfillmentText).toBe('visit 2');
      expect(second.body.outputContexts[0].parameters).toEqual({ 'webhook-session': { visits: 2, other: 'kept' } });
    });

    it('asks for a parameter with the prompt as text', async () => {
      expect((await feature('elicit')).body.fulfillmentText).toBe('Which date?');
    });

    it('offers Yes/No quick replies for a confirmation', async () => {
      const response = await feature('confirm');
      expect(response.body.fulfillmentMessages).toEqual([
        { text: { text: ['Book it?'] } },
        { quickReplies: { quickReplies: ['Yes', 'No'] } },
      ]);
    });

    it('signals a hand-off and an end of conversation in payload', async () => {
      expect((await feature('handoff')).body.payload).toEqual({ handoff: { reason: 'asked for a human' } });
      expect((await feature('end')).body.payload).toEqual({ google: { expectUserResponse: false } });
    });

    it('answers a delegated turn without text, so the intent’s own responses are used', async () => {
      const response = await feature('delegate');
      expect(response.body.fulfillmentText).toBeUndefined();
      expect(response.body.fulfillmentMessages).toBeUndefined();
      expect(response.body.outputContexts[0].parameters).toEqual({ 'webhook-session': { visits: 1 } });
    });
  });

  describe('banking intents', () => {
    it('asks which account when account_type is missing, listing the customer’s accounts', async () => {
      const response = await post(esRequest('GetAccountBalance', { user_id: '12345' })).expect(200);
      expect(response.body.fulfillmentText).toBe('Which account would you like the balance for: checking or savings?');
      expect(response.body.fulfillmentMessages[1]).toEqual({ quickReplies: { quickReplies: ['checking', 'savings'] } });
    });

    it('accepts a numeric user_id and a spelled-out account type', async () => {
      const response = await post(esRequest('GetAccountBalance', { user_id: 12345, account_type: 'Savings Account' }));
      expect(response.body.fulfillmentText).toContain('savings account balance is $12,500.00');
    });

    it('says so when the customer has no account of that type', async () => {
      const response = await post(esRequest('GetAccountBalance', { user_id: '12345', account_type: 'brokerage' }));
      expect(response.body.fulfillmentText).toBe(
        "You don't have a brokerage account with us. Which account would you like the balance for: checking or savings?",
      );
    });

    it('answers politely for an unknown customer', async () => {
      const response = await post(esRequest('GetAccountBalance', { user_id: '99999', account_type: 'checking' }));
      expect(response.body.fulfillmentText).toMatch(/couldn't find any accounts/);
    });

    it('answers in the request language (English fallback) with the amount in the account currency', async () => {
      const body = esRequest('GetAccountBalance', { user_id: '67890', account_type: 'checking' });
      (body.queryResult as Record<string, unknown>).languageCode = 'de';
      const response = await post(body).expect(200);
      expect(response.body.fulfillmentText).toBe(
        'Der Kontostand Ihres Kontos „checking“ beträgt 1.843,15\u00a0€. Möchten Sie die letzten Umsätze sehen?',
      );
      expect(response.body.outputContexts[0].parameters).toMatchObject({ balance: 1843.15, currency: 'EUR' });
    });

    it('lists the last 5 transactions by default, newest first', async () => {
      const response = await post(esRequest('GetRecentTransactions', { user_id: '12345', account_type: 'checking' }));
      expect(response.body.fulfillmentText).toMatch(/^Here are the last 5 transactions on your checking account: /);
      expect(response.body.fulfillmentMessages).toHaveLength(6);
      const rows = await queryTestDatabase<{ description: string }>(
        t.database.url,
        `SELECT t.description FROM transactions t JOIN accounts a ON a.id = t.account_id
           JOIN customers c ON c.id = a.customer_id
          WHERE c.customer_number = '12345' AND a.account_type = 'checking' ORDER BY t.posted_at DESC, t.id LIMIT 5`,
      );
      rows.forEach((row, index) => {
        expect(response.body.fulfillmentMessages[index + 1].text.text[0]).toContain(row.description);
      });
    });

    it('honours a requested count and caps it at 20', async () => {
      const three = await post(
        esRequest('GetRecentTransactions', { user_id: '12345', account_type: 'checking', count: 3 }),
      );
      expect(three.body.fulfillmentText).toMatch(/last 3 transactions/);
      const many = await post(
        esRequest('GetRecentTransactions', { user_id: '12345', account_type: 'checking', count: '500' }),
      );
      expect(many.body.fulfillmentText).toMatch(/last 20 transactions/);
    });

    it('keeps the seeded history consistent with the balance', async () => {
      const [row] = await queryTestDatabase<{ balance: string; total: string }>(
        t.database.url,
        `SELECT a.balance_minor AS balance, SUM(t.amount_minor)::text AS total FROM accounts a
           JOIN transactions t ON t.account_id = a.id GROUP BY a.id HAVING a.account_type = 'checking' LIMIT 1`,
      );
      expect(row.total).toBe(row.balance);
    });
  });

  describe('dispatcher outcomes', () => {
    it('answers an unknown intent with the fallback reply and 200', async () => {
      const response = await post(esRequest('NoSuchIntent')).expect(200);
      expect(response.body.fulfillmentText).toBe(
        "Sorry, I can't help with that yet. Could you try asking another way?",
      );
    });

    it('answers a failing handler politely, without internals', async () => {
      const response = await post(esRequest('TestExplode')).expect(200);
      expect(response.body.fulfillmentText).toBe(
        'Sorry, something went wrong on our side. Please try again in a moment.',
      );
      expect(JSON.stringify(response.body)).not.toMatch(/secret-internal-detail|Error|at /);
    });

    it('sends the interim reply when the handler outlives the deadline; the work goes on until LATE_WORK_TIMEOUT_MS', async () => {
      const slow = t.app.get(SlowHandler);
      const response = await post(esRequest('TestSlow')).expect(200);
      expect(response.body.fulfillmentText).toBe("I'm still working on that. Please ask me again in a moment.");
      // The late result is kept (its id travels in the session context), so the work is not abandoned yet.
      expect(JSON.stringify(response.body.outputContexts)).toMatch(/pendingFulfillmentId/);
      expect(slow.finished).toBe(false);
      expect(slow.sawAbort).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(slow.sawAbort).toBe(true);
      slow.releaseNow();
    });

    it('replaces an oversized response (over 64 KiB) with a polite reply', async () => {
      const response = await post(esRequest('TestOversized')).expect(200);
      expect(response.body.fulfillmentText).toMatch(/^Sorry, something went wrong/);
      expect(response.text.length).toBeLessThan(1024);
    });

    it('answers a response Dialogflow would reject (invalid context name) with its text alone', async () => {
      const response = await post(esRequest('TestBadContext')).expect(200);
      expect(response.body.fulfillmentText).toBe('ok');
      expect(response.body.outputContexts).toBeUndefined();
    });
  });

  describe('errors are JSON with the right status', () => {
    it('400 for malformed JSON, without echoing the body', async () => {
      const response = await request(t.baseUrl)
        .post(PATH)
        .set(LOCAL_DEV_AUTH)
        .set('Content-Type', 'application/json')
        .send('{"responseId": "abc", "session": secret-value')
        .expect(400)
        .expect('Content-Type', /json/);
      expect(response.body).toMatchObject({ statusCode: 400, error: 'MALFORMED_JSON' });
      expect(response.text).not.toContain('secret-value');
    });

    it('400 naming every invalid field', async () => {
      const response = await post({
        responseId: '',
        session: 'projects/p/agent/sessions/s',
        queryResult: { intent: {}, languageCode: 5, parameters: 'x' },
      }).expect(400);
      const fields = (response.body.details as { field: string }[]).map((d) => d.field);
      expect(fields).toEqual(
        expect.arrayContaining([
          'responseId',
          'queryResult.intent.displayName',
          'queryResult.languageCode',
          'queryResult.parameters',
        ]),
      );
      expect(response.body.details).toContainEqual({ field: 'queryResult.intent.displayName', problem: 'is required' });
    });

    it('400 for a JSON body that is not an object', async () => {
      const response = await post([1, 2]).expect(400);
      expect(response.body.error).toBe('VALIDATION_FAILED');
    });

    it('413 for a body over the limit', async () => {
      const big = { ...README_REQUEST, padding: 'x'.repeat(5000) };
      const response = await post(big).expect(413);
      expect(response.body).toMatchObject({ statusCode: 413, error: 'PAYLOAD_TOO_LARGE' });
    });

    it('415 for a non-JSON content type', async () => {
      const response = await request(t.baseUrl)
        .post(PATH)
        .set(LOCAL_DEV_AUTH)
        .set('Content-Type', 'text/plain')
        .send('hello')
        .expect(415);
      expect(response.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it('415 for another charset or an encoding we do not decode; a UTF-8 BOM is accepted', async () => {
      const raw = (headers: Record<string, string>, body: string | Buffer) =>
        request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).set(headers).send(body);
      const json = JSON.stringify(README_REQUEST);
      const latin1 = await raw({ 'Content-Type': 'application/json; charset=latin1' }, json).expect(415);
      expect(latin1.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
      await raw({ 'Content-Type': 'application/json', 'Content-Encoding': 'br' }, json).expect(415);
      const bom = await raw({ 'Content-Type': 'application/json; charset=utf-8' }, `\uFEFF${json}`).expect(200);
      expect(bom.body.fulfillmentText).toContain('$3,247.82');
    });

    it('decodes gzip and deflate bodies, refuses undecodable ones and bodies that expand past the limit', async () => {
      const { gzipSync, deflateSync, deflateRawSync } = await import('node:zlib');
      const json = Buffer.from(JSON.stringify(README_REQUEST));
      const { request: httpRequest } = await import('node:http');
      // Raw bytes on the wire (supertest would serialise a Buffer as JSON).
      const send = (encoding: string, body: Buffer) =>
        new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
          const req = httpRequest(
            `${t.baseUrl}${PATH}`,
            {
              method: 'POST',
              headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json', 'Content-Encoding': encoding },
            },
            (res) => {
              let text = '';
              res.on('data', (chunk: Buffer) => (text += chunk.toString()));
              res.on('end', () =>
                resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
              );
            },
          );
          req.on('error', reject);
          req.end(body);
        });
      for (const [encoding, body] of [
        ['gzip', gzipSync(json)],
        ['deflate', deflateSync(json)],
        ['deflate', deflateRawSync(json)],
      ] as const) {
        const response = await send(encoding, body);
        expect(response.status).toBe(200);
        expect(response.body.fulfillmentText).toContain('$3,247.82');
      }
      const garbage = await send('gzip', json);
      expect(garbage.status).toBe(400);
      expect(garbage.body).toMatchObject({ error: 'MALFORMED_JSON', message: expect.stringContaining('compressed') });
      // 100 KB of spaces compress to a few hundred bytes: under the 4 KiB limit on the wire, far over it decoded.
      const bomb = gzipSync(Buffer.concat([Buffer.from('{"a":"'), Buffer.alloc(100_000, ' '), Buffer.from('"}')]));
      expect(bomb.length).toBeLessThan(4096);
      const expanded = await send('gzip', bomb);
      expect([expanded.status, expanded.body.error]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    });

    it('400 for a top-level JSON scalar, and for an empty body', async () => {
      const scalar = await request(t.baseUrl)
        .post(PATH)
        .set(LOCAL_DEV_AUTH)
        .set('Content-Type', 'application/json')
        .send('"just a string"')
        .expect(400);
      expect(scalar.body).toMatchObject({
        error: 'MALFORMED_JSON',
        message: 'The request body must be a JSON object, not a bare JSON string.',
      });
      const empty = await request(t.baseUrl)
        .post(PATH)
        .set(LOCAL_DEV_AUTH)
        .set('Content-Type', 'application/json')
        .send('')
        .expect(400);
      expect(empty.body.error).toBe('VALIDATION_FAILED');
    });

    it('413 from Content-Length alone, and for a chunked body that grows past the limit', async () => {
      const { request: rawRequest } = await import('node:http');
      const send = (headers: Record<string, string | number>, chunks: string[]) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = rawRequest(
            `${t.baseUrl}${PATH}`,
            { method: 'POST', headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json', ...headers } },
            (res) => {
              let body = '';
              res.on('data', (chunk: Buffer) => (body += chunk.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            },
          );
          req.on('error', reject);
          chunks.forEach((chunk) => req.write(chunk));
          req.end();
        });
      const declared = await send({ 'Content-Length': 10_000_000 }, []);
      expect(declared.status).toBe(413);
      const chunked = await send({ 'Transfer-Encoding': 'chunked' }, [
        '{"a":"',
        'x'.repeat(3000),
        'x'.repeat(3000),
        '"}',
      ]);
      expect(chunked.status).toBe(413);
      expect(JSON.parse(chunked.body).error).toBe('PAYLOAD_TOO_LARGE');
    });

    it('404 JSON for an unknown route, 405 with Allow: POST for GET on the webhook', async () => {
      await request(t.baseUrl).get('/nope').expect(404).expect('Content-Type', /json/);
      const response = await request(t.baseUrl).get(PATH).set(LOCAL_DEV_AUTH).expect(405).expect('Allow', 'POST');
      expect(response.body.error).toBe('METHOD_NOT_ALLOWED');
    });

    it('echoes a safe X-Request-Id and replaces an unsafe one', async () => {
      const safe = await request(t.baseUrl).post(PATH).send({}).set('X-Request-Id', 'abc-123');
      expect(safe.headers['x-request-id']).toBe('abc-123');
      expect(safe.body.requestId).toBe('abc-123');
      const unsafe = await request(t.baseUrl).post(PATH).send({}).set('X-Request-Id', '<script>');
      expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('authentication', () => {
    it('401 with WWW-Authenticate when no token is sent', async () => {
      const response = await request(t.baseUrl).post(PATH).send(README_REQUEST).expect(401);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(response.body).toMatchObject({ statusCode: 401, error: 'UNAUTHENTICATED' });
    });

    it('401 with the same body for a wrong token', async () => {
      const missing = await request(t.baseUrl).post(PATH).send(README_REQUEST).expect(401);
      const wrong = await request(t.baseUrl)
        .post(PATH)
        .set('Authorization', 'Bearer local-dev-tokeX')
        .send(README_REQUEST)
        .expect(401);
      expect(wrong.body.message).toBe(missing.body.message);
      const basic = await request(t.baseUrl).post(PATH).set('Authorization', 'Basic Zm9vOmJhcg==').send(README_REQUEST);
      expect(basic.status).toBe(401);
    });
  });
});
