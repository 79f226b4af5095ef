import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { sendRaw } from './support/raw-http';
import { startTestApp, TestApp } from './support/test-app';
import { TestHandlersModule } from './support/test-handlers';

/** Hostile bodies JSON.parse would accept, sent byte for byte to the real app: each is refused with a clear 400. */
const ES_PATH = '/v1/webhooks/dialogflow-es';
const README_TEXT = readFileSync(join(__dirname, 'fixtures', 'dialogflow-es-readme-request.json'), 'utf8');
const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(__dirname, 'fixtures', name), 'utf8')) as Record<string, unknown>;

describe('hostile JSON bodies (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ imports: [TestHandlersModule] });
  });
  afterAll(() => t.close());

  const post = (body: string | Buffer, path = ES_PATH) =>
    sendRaw(t.baseUrl, path, { headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json' }, body });

  it('answers the untouched README request (the bodies below differ from it only in what they test)', async () => {
    const response = await post(README_TEXT);
    expect(response.status).toBe(200);
  });

  describe('duplicate keys', () => {
    it('refuses a repeated key with 400 naming its path, also when the two spellings differ only by escapes', async () => {
      const cases: [string, string][] = [
        ['"parameters": {', '"parameters": {"account_type":"savings",'],
        ['"parameters": {', '"parameters": {"\\u0061ccount_type":"savings",'],
        ['"queryText"', '"quer\\u0079Text": "ignore me", "queryText"'],
      ];
      for (const [find, replace] of cases) {
        expect(README_TEXT).toContain(find);
        const response = await post(README_TEXT.replace(find, replace));
        expect(response.status).toBe(400);
        const field = find.includes('parameters') ? 'queryResult.parameters.account_type' : 'queryResult.queryText';
        expect(response.json()).toMatchObject({
          statusCode: 400,
          error: 'MALFORMED_JSON',
          message: `The request body repeats the key ${field}.`,
          details: [{ field, problem: 'is a duplicate key' }],
        });
      }
    });

    it('refuses a repeated top-level key, and one inside an array element', async () => {
      const top = await post(README_TEXT.replace('{', '{"session":"projects/x/agent/sessions/other",'));
      expect([top.status, top.json().details]).toEqual([400, [{ field: 'session', problem: 'is a duplicate key' }]]);
      const lex = fixture('lex-v2/get-account-balance-fulfillment.json');
      const text = JSON.stringify(lex).replace('"interpretations":[{', '"interpretations":[{"nluConfidence":1,');
      const inArray = await post(text, '/v1/webhooks/lex-v2');
      expect(inArray.status).toBe(400);
      expect(inArray.json().details).toEqual([
        { field: 'interpretations.0.nluConfidence', problem: 'is a duplicate key' },
      ]);
    });
  });

  describe('invalid UTF-8', () => {
    const withBytes = (bytes: number[]) => {
      const [before, after] = README_TEXT.split('What is my account balance?');
      return Buffer.concat([Buffer.from(before), Buffer.from('What is '), Buffer.from(bytes), Buffer.from(after)]);
    };

    it.each([
      ['an overlong encoding', [0xc0, 0xaf]],
      ['an overlong three-byte encoding', [0xe0, 0x80, 0xaf]],
      ['a surrogate encoded as UTF-8', [0xed, 0xa0, 0x80]],
      ['a truncated sequence', [0xe2, 0x82]],
      ['a stray continuation byte', [0x80]],
      ['a byte never used in UTF-8', [0xff]],
    ])('refuses %s with 400', async (_what, bytes) => {
      const response = await post(withBytes(bytes));
      expect(response.status).toBe(400);
      expect(response.json()).toMatchObject({
        error: 'MALFORMED_JSON',
        message: 'The request body is not valid UTF-8.',
      });
    });

    it('accepts multi-byte UTF-8 that is well formed', async () => {
      const response = await post(withBytes([0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]));
      expect(response.status).toBe(200);
    });

    it('refuses an escaped lone surrogate, which would collide with U+FFFD once encoded (two ids, one key)', async () => {
      for (const id of ['turn-1\\ud800', 'turn-1\\udfff']) {
        const response = await post(
          `{"requestId":"${id}","sessionId":"s-1","intent":"GetAccountBalance","parameters":{"user_id":"12345"}}`,
          '/v1/webhooks/generic',
        );
        expect(response.status).toBe(400);
        expect(response.json()).toMatchObject({ error: 'MALFORMED_JSON' });
      }
    });

    it('refuses a generic requestId that is blank or holds control characters', async () => {
      for (const id of [' ', 'turn\\r\\nX-Injected: 1']) {
        const response = await post(
          `{"requestId":"${id}","sessionId":"s-1","intent":"GetAccountBalance","parameters":{"user_id":"12345"}}`,
          '/v1/webhooks/generic',
        );
        expect(response.status).toBe(400);
        expect(response.json()).toMatchObject({
          error: 'VALIDATION_FAILED',
          details: [{ field: 'requestId', problem: 'must be visible text without control characters' }],
        });
      }
    });
  });

  describe('NUL characters', () => {
    it('refuses U+0000 in any string or key of every platform with 400 naming where (PostgreSQL text cannot hold it)', async () => {
      const es = JSON.parse(README_TEXT) as { queryResult: { intent: { displayName: string } } };
      es.queryResult.intent.displayName = 'GetAccount\u0000Balance';
      const lex = fixture('lex-v2/get-account-balance-fulfillment.json') as { sessionId: string };
      lex.sessionId = 'session\u0000';
      const rasa = fixture('rasa/action_get_account_balance.json') as { tracker: { slots: Record<string, unknown> } };
      rasa.tracker.slots['note\u0000'] = 'x';
      const cases: [string, unknown, string][] = [
        [ES_PATH, es, 'queryResult.intent.displayName'],
        ['/v1/webhooks/lex-v2', lex, 'sessionId'],
        ['/v1/webhooks/rasa', rasa, 'tracker.slots.note\u0000'],
        [
          '/v1/webhooks/generic',
          { ...fixture('generic/get-account-balance.json'), requestId: 'turn\u0000' },
          'requestId',
        ],
      ];
      for (const [path, body, field] of cases) {
        const response = await post(JSON.stringify(body), path);
        expect([path, response.status]).toEqual([path, 400]);
        expect(response.json()).toMatchObject({
          error: 'MALFORMED_JSON',
          details: [{ field, problem: 'holds a NUL character (\\u0000)' }],
        });
      }
    });
  });

  describe('prototype keys', () => {
    it.each([
      ['__proto__', '"__proto__"'],
      ['__proto__', '"\\u005f_proto__"'],
      ['__proto__', '"\\u005F\\u005Fproto\\u005F\\u005F"'],
      ['constructor', '"constructor"'],
      ['constructor', '"construc\\u0074or"'],
      ['constructor', '"\\u0063onstructor"'],
      ['prototype', '"prototype"'],
      ['prototype', '"proto\\u0074ype"'],
    ])('refuses %s spelled %s at any depth with 400', async (key, spelling) => {
      const nested = README_TEXT.replace('"parameters": {', `"parameters": {"nested":{${spelling}:{"polluted":true}},`);
      const deep = await post(nested);
      expect(deep.status).toBe(400);
      expect(deep.json()).toMatchObject({
        error: 'MALFORMED_JSON',
        details: [{ field: `queryResult.parameters.nested.${key}`, problem: 'is a key that is not allowed' }],
      });
      const top = await post(README_TEXT.replace('{', `{${spelling}:{"polluted":true},`));
      expect([top.status, top.json<{ details: { field: string }[] }>().details[0].field]).toEqual([400, key]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  describe('bounded fields', () => {
    it('refuses an over-limit field of each platform with 400 VALIDATION_FAILED naming the field', async () => {
      const es = JSON.parse(README_TEXT) as { queryResult: Record<string, unknown> };
      es.queryResult.outputContexts = Array.from({ length: 101 }, (_, index) => ({
        name: `projects/project-id/agent/sessions/session-id/contexts/c${index}`,
      }));
      const lex = fixture('lex-v2/get-account-balance-fulfillment.json') as { sessionState: Record<string, unknown> };
      lex.sessionState.activeContexts = Array.from({ length: 21 }, (_, index) => ({ name: `c${index}` }));
      const cx = fixture('dialogflow-cx/get-account-balance.json');
      cx.text = 'x'.repeat(1025);
      const rasa = fixture('rasa/action_get_account_balance.json') as { tracker: Record<string, unknown> };
      rasa.tracker.events = Array.from({ length: 10_001 }, () => ({ event: 'action' }));
      const generic = { ...fixture('generic/get-account-balance.json'), text: 'x'.repeat(16_385) };
      const cases: [string, unknown, string][] = [
        [ES_PATH, es, 'queryResult.outputContexts'],
        ['/v1/webhooks/lex-v2', lex, 'sessionState.activeContexts'],
        ['/v1/webhooks/dialogflow-cx', cx, 'text'],
        ['/v1/webhooks/rasa', rasa, 'tracker.events'],
        ['/v1/webhooks/generic', generic, 'text'],
      ];
      for (const [path, body, field] of cases) {
        const response = await post(JSON.stringify(body), path);
        expect([path, response.status]).toEqual([path, 400]);
        const refusal = response.json<{ error: string; message: string; details: { field: string }[] }>();
        // Rasa answers in the Rasa SDK's error shape; every other route in ours.
        const named = JSON.stringify(refusal);
        expect(named).toContain(field);
        if (path !== '/v1/webhooks/rasa') {
          expect(refusal.error).toBe('VALIDATION_FAILED');
          expect(refusal.details.map((detail) => detail.field)).toContain(field);
        }
      }
    });

    it('bounds parameter maps: their keys, key length, text length and size, on every platform that has them', async () => {
      const many = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`p${i}`, i]));
      const esWith = (parameters: Record<string, unknown>) => {
        const es = fixture('dialogflow-es/intents/GetAccountBalance.json') as { queryResult: Record<string, unknown> };
        return { ...es, queryResult: { ...es.queryResult, parameters } };
      };
      const generic = fixture('generic/get-account-balance.json');
      const cases: [string, unknown, string][] = [
        [ES_PATH, esWith({ ['k'.repeat(600)]: 1 }), 'queryResult.parameters'],
        [ES_PATH, esWith(many), 'queryResult.parameters'],
        [ES_PATH, esWith({ note: 'x'.repeat(900_000) }), 'queryResult.parameters'],
        ['/v1/webhooks/generic', { ...generic, sessionParameters: many }, 'sessionParameters'],
        ['/v1/webhooks/generic', { ...generic, contexts: [{ name: 'c', parameters: many }] }, 'contexts.0.parameters'],
      ];
      for (const [path, body, field] of cases) {
        const response = await post(JSON.stringify(body), path);
        expect([path, field, response.status]).toEqual([path, field, 400]);
        const refusal = response.json<{ error: string; details: { field: string }[] }>();
        expect(refusal.error).toBe('VALIDATION_FAILED');
        expect(refusal.details.map((detail) => detail.field)).toContain(field);
      }
    });
  });
});
