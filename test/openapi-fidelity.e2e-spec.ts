import Ajv2020, { type ErrorObject } from 'ajv/dist/2020';
import { dump as toYaml } from 'js-yaml';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { decodeStandardWebhookSecret, signStandardWebhook } from '../src/auth/hmac/standard-webhooks';
import { hashPassword } from '../src/auth/passwords';
import { type RawRequest, type RawResponse, sendRaw } from './support/raw-http';
import { startTestApp, type TestApp } from './support/test-app';
import { SlowHandler, TestHandlersModule } from './support/test-handlers';

/** The parts of the document this test reads. */
interface Header {
  $ref?: string;
  required?: boolean;
  schema?: { type?: string };
}
interface Response {
  $ref?: string;
  description: string;
  headers?: Record<string, Header>;
  content?: Record<string, { schema: object; examples?: Record<string, { value: unknown }> }>;
}
interface Operation {
  requestBody?: { content: Record<string, { schema: { $ref: string }; example: Record<string, unknown> }> };
  responses: Record<string, Response>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, Response>; headers: Record<string, Header> };
}

/** The headers the service itself sets on its answers (not Node's or HTTP's own, such as Date or Content-Length). */
const SERVICE_HEADERS = [
  'x-request-id',
  'ratelimit-policy',
  'ratelimit',
  'retry-after',
  'www-authenticate',
  'allow',
  'idempotent-replayed',
];

const RUN = randomBytes(4).toString('hex');
const TOKEN = `fidelity-${RUN}-0123456789abcdef`;
const LIMITED_TOKEN = `fidelity-limited-${RUN}-0123456789abcdef`;
const WHSEC = `whsec_${randomBytes(32).toString('base64')}`;
const BASIC_USER = `fidelity-basic-${RUN}`;
const PASSWORD = randomBytes(12).toString('hex');
const BEARER = { Authorization: `Bearer ${TOKEN}` };
const BASIC = { Authorization: `Basic ${Buffer.from(`${BASIC_USER}:${PASSWORD}`).toString('base64')}` };

async function writeCallersFile(dir: string): Promise<string> {
  const file = join(dir, 'callers.yaml');
  const callers = [
    {
      id: `fidelity-${RUN}`,
      platforms: ['dialogflow-es', 'dialogflow-cx', 'lex-v2', 'rasa', 'generic'],
      auth: { bearer: { tokens: [TOKEN] } },
    },
    {
      id: `fidelity-limited-${RUN}`,
      platforms: ['rasa'],
      auth: { bearer: { tokens: [LIMITED_TOKEN] } },
      rateLimit: { requests: 1, perSeconds: 600 },
    },
    { id: `fidelity-signed-${RUN}`, platforms: ['rasa'], auth: { standardWebhooks: { secrets: [WHSEC] } } },
    {
      id: BASIC_USER,
      platforms: ['rasa'],
      auth: { basic: { username: BASIC_USER, passwordHashes: [await hashPassword(PASSWORD)] } },
    },
  ];
  writeFileSync(file, toYaml({ callers }));
  return file;
}

/** Standard Webhooks headers signed over exactly `body`. */
function signed(body = ''): Record<string, string> {
  const id = `msg_${randomUUID()}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = signStandardWebhook({
    webhookId: id,
    timestampSeconds: timestamp,
    rawBody: Buffer.from(body),
    secret: decodeStandardWebhookSecret(WHSEC),
  });
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
}

/** A JSON pointer token (RFC 6901). */
const token = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');
const DOCUMENT_ID = 'https://webhook-fulfillment.test/openapi.json';

/**
 * The document as served, and every real answer checked against it as a client generated from it would: its status
 * listed for the operation, its body valid by the schema listed (ajv, JSON Schema 2020-12), every header the service
 * sets declared on that response and valid by the header's schema, and every required header sent.
 */
describe('OpenAPI fidelity: real answers against the served document', () => {
  let dir: string;
  let t: TestApp;
  let document: Document;
  let ajv: Ajv2020;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wf-openapi-fidelity-'));
    t = await startTestApp({
      env: {
        CALLERS_FILE: await writeCallersFile(dir),
        // One scrypt check at a time, eight waiting: a burst of basic-auth calls meets the budget.
        BASIC_AUTH_MAX_CONCURRENT_CHECKS: '1',
        // A slow handler outlives the turn and goes on as a fulfillment that can be polled.
        GENERIC_DEADLINE_MS: '400',
        LATE_WORK_TIMEOUT_MS: '30000',
      },
      imports: [TestHandlersModule],
    });
    document = (await (await fetch(`${t.baseUrl}/openapi.json`)).json()) as Document;
    ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false, validateFormats: false });
    // The whole document under one id, so that every "#/components/…" reference resolves as it does for a client.
    ajv.addSchema({ ...document, $id: DOCUMENT_ID });
  });
  afterAll(async () => {
    t?.app.get(SlowHandler).releaseNow();
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Errors of `data` against the schema at `pointer` in the document (empty when valid). */
  const violations = (pointer: string, data: unknown): ErrorObject[] => {
    const validate = ajv.getSchema(`${DOCUMENT_ID}#${pointer}`);
    if (!validate) throw new Error(`no schema at ${pointer}`);
    return validate(data) ? [] : (validate.errors ?? []);
  };
  const resolve = <T extends { $ref?: string }>(node: T): T => {
    if (!node.$ref) return node;
    const target = node.$ref
      .slice(2)
      .split('/')
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((at, part) => (at as Record<string, unknown>)[part], document);
    return resolve(target as T);
  };

  const send = (path: string, request: RawRequest) => sendRaw(t.baseUrl, path, request);
  const postJson = (path: string, body: unknown, headers: Record<string, string> = BEARER, app = t) =>
    sendRaw(app.baseUrl, path, {
      headers: { 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const get = (path: string, headers: Record<string, string> = BEARER, app = t) =>
    sendRaw(app.baseUrl, path, { method: 'GET', headers });

  /** Where `answer` (to `method` on the documented `path`) is described; a 405 by components.responses. */
  function describedAt(method: string, path: string, answer: RawResponse): { pointer: string; response?: Response } {
    const operation = document.paths[path]?.[method];
    if (!operation && answer.status === 405) {
      return {
        pointer: '/components/responses/MethodNotAllowed',
        response: document.components.responses.MethodNotAllowed,
      };
    }
    const pointer = `/paths/${token(path)}/${method}/responses/${answer.status}`;
    const response = operation?.responses[String(answer.status)];
    return { pointer, response: response && resolve(response) };
  }

  /** The answer is one the document describes, in status, body and headers. */
  function expectDocumented(method: 'get' | 'post', path: string, answer: RawResponse): void {
    const { pointer, response } = describedAt(method, path, answer);
    const what = `${method.toUpperCase()} ${path} → ${answer.status} ${answer.text.slice(0, 300)}`;
    expect({ what, documented: response !== undefined }).toEqual({ what, documented: true });
    const media = response!.content?.['application/json'];
    if (media) {
      expect({ what, contentType: answer.headers['content-type'] }).toEqual({
        what,
        contentType: expect.stringMatching(/^application\/json/),
      });
      const errors = violations(`${pointer}/content/application~1json/schema`, answer.json());
      expect({ what, errors }).toEqual({ what, errors: [] });
    } else {
      expect({ what, body: answer.text }).toEqual({ what, body: '' });
    }
    const declared = new Map(
      Object.entries(response!.headers ?? {}).map(([name, header]) => [name.toLowerCase(), resolve(header)]),
    );
    for (const [name, header] of declared) {
      if (header.required) {
        expect({ what, name, sent: answer.headers[name] !== undefined }).toEqual({ what, name, sent: true });
      }
    }
    for (const name of SERVICE_HEADERS) {
      const value = answer.headers[name];
      if (value === undefined) continue;
      const header = declared.get(name);
      expect({ what, name, declared: header !== undefined }).toEqual({ what, name, declared: true });
      // A header's schema describes its value as a client reads it: "1" is the integer 1.
      const typed = header!.schema?.type === 'integer' && /^\d+$/.test(String(value)) ? Number(value) : value;
      expect({ what, name, value, errors: ajv.validate(header!.schema ?? {}, typed) ? [] : ajv.errors }).toEqual({
        what,
        name,
        value,
        errors: [],
      });
    }
  }

  const example = (path: string) =>
    structuredClone(document.paths[path].post.requestBody!.content['application/json'].example);
  /** A named example of a documented answer (which must exist). */
  const namedExample = (path: string, method: string, status: number, name: string): Record<string, unknown> => {
    const response = resolve(document.paths[path][method].responses[String(status)]);
    const value = response.content?.['application/json'].examples?.[name]?.value;
    expect({ path, status, name, value }).toEqual({ path, status, name, value: expect.any(Object) });
    return value as Record<string, unknown>;
  };

  describe('the Rasa webhook', () => {
    const RASA = '/v1/webhooks/rasa';

    it("answers an unknown action 404 and an invalid call 400 in the Rasa SDK's body, as documented", async () => {
      const unknown = await postJson(RASA, { ...example(RASA), next_action: 'action_nope' });
      expect(unknown.status).toBe(404);
      expectDocumented('post', RASA, unknown);
      expect(unknown.json()).toEqual(namedExample(RASA, 'post', 404, 'unknownAction'));

      const empty = await postJson(RASA, {});
      expect(empty.status).toBe(400);
      expect(empty.json()).toEqual({ error: expect.stringMatching(/^Rasa action call is invalid: /) });
      expectDocumented('post', RASA, empty);

      const { tracker: _tracker, ...trackerless } = example(RASA);
      const invalid = await postJson(RASA, trackerless);
      expect(invalid.status).toBe(400);
      expectDocumented('post', RASA, invalid);
      expect(invalid.json()).toEqual(namedExample(RASA, 'post', 400, 'invalidActionCall'));
    });

    it('answers what comes before the action (malformed JSON, credentials) in the usual error body, as documented', async () => {
      const malformed = await postJson(RASA, '{"next_action":');
      expect(malformed.status).toBe(400);
      expect(malformed.json()).toMatchObject({ error: 'MALFORMED_JSON' });
      expectDocumented('post', RASA, malformed);

      const unauthenticated = await postJson(RASA, example(RASA), { Authorization: 'Bearer not-a-caller-token' });
      expect(unauthenticated.status).toBe(401);
      expect(unauthenticated.headers['www-authenticate']).toBe(
        'Bearer realm="webhook-fulfillment", error="invalid_token"',
      );
      expectDocumented('post', RASA, unauthenticated);

      const fulfilled = await postJson(RASA, example(RASA));
      expect(fulfilled.status).toBe(200);
      expectDocumented('post', RASA, fulfilled);
    });
  });

  describe("the Rasa SDK's other routes", () => {
    it('GET /actions answers the list of actions, GET /health its status, as documented', async () => {
      const actions = await get('/v1/webhooks/rasa/actions');
      expect(actions.status).toBe(200);
      expect(actions.json()).toEqual(expect.arrayContaining([{ name: 'action_book_appointment' }]));
      expectDocumented('get', '/v1/webhooks/rasa/actions', actions);

      const health = await get(`/v1/webhooks/rasa/health?token=${TOKEN}`, {});
      expect({ status: health.status, body: health.json() }).toEqual({ status: 200, body: { status: 'ok' } });
      expectDocumented('get', '/v1/webhooks/rasa/health', health);
    });

    it('a webhook-id signed without a body, sent again to another path: 422, as documented', async () => {
      const headers = signed();
      const health = await get('/v1/webhooks/rasa/health', headers);
      expect(health.status).toBe(200);
      const actions = await get('/v1/webhooks/rasa/actions', headers);
      expect(actions.status).toBe(422);
      expect(actions.json()).toMatchObject({ error: 'IDEMPOTENCY_KEY_REUSED' });
      expectDocumented('get', '/v1/webhooks/rasa/actions', actions);
    });

    it('a caller over its rate limit gets 429 with Retry-After and its RateLimit fields, as documented', async () => {
      const headers = { Authorization: `Bearer ${LIMITED_TOKEN}` };
      const first = await get('/v1/webhooks/rasa/actions', headers);
      expect(first.status).toBe(200);
      expectDocumented('get', '/v1/webhooks/rasa/actions', first);
      const limited = await get('/v1/webhooks/rasa/actions', headers);
      expect(limited.status).toBe(429);
      expect(limited.headers).toMatchObject({ 'retry-after': expect.any(String), ratelimit: expect.any(String) });
      expectDocumented('get', '/v1/webhooks/rasa/actions', limited);
    });

    it('answers 503 OVERLOADED with Retry-After when basic-auth password checks are over their budget', async () => {
      const answers = await Promise.all(Array.from({ length: 16 }, () => get('/v1/webhooks/rasa/health', BASIC)));
      const refused = answers.filter((answer) => answer.status === 503);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0].json()).toMatchObject({
        error: 'OVERLOADED',
        message: 'Too many password checks at once; retry shortly.',
      });
      expect(refused[0].headers['retry-after']).toBe('1');
      for (const answer of answers) expectDocumented('get', '/v1/webhooks/rasa/health', answer);
    });
  });

  describe('with the replay check unreachable (REDIS_URL names a port nothing listens on)', () => {
    let redisless: TestApp;

    beforeAll(async () => {
      redisless = await startTestApp({
        env: { CALLERS_FILE: join(dir, 'callers.yaml'), REDIS_URL: 'redis://127.0.0.1:1' },
      });
    });
    afterAll(() => redisless?.close());

    it('a signed request gets 503 UNAVAILABLE with Retry-After, on the body-less routes too, as documented', async () => {
      const health = await get('/v1/webhooks/rasa/health', signed(), redisless);
      expect(health.status).toBe(503);
      expect(health.json()).toEqual({
        ...namedExample('/v1/webhooks/rasa/health', 'get', 503, 'replayCheckUnavailable'),
        requestId: expect.any(String),
      });
      expect(health.headers['retry-after']).toBe('1');
      expectDocumented('get', '/v1/webhooks/rasa/health', health);

      const body = JSON.stringify(example('/v1/webhooks/rasa'));
      const turn = await postJson('/v1/webhooks/rasa', body, signed(body), redisless);
      expect(turn.status).toBe(503);
      expectDocumented('post', '/v1/webhooks/rasa', turn);
      expect(document.paths['/v1/webhooks/rasa'].post.responses['503'].description).toMatch(/replay check/);
    });
  });

  describe('every route', () => {
    it('a method a documented path does not serve: 405 with Allow, as components.responses.MethodNotAllowed says', async () => {
      const answer = await get('/v1/webhooks/generic');
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe('POST');
      expectDocumented('get', '/v1/webhooks/generic', answer);
    });

    it('takes gzip and deflate bodies (a replay says so in Idempotent-Replayed) and refuses only other encodings with 415', async () => {
      const GENERIC = '/v1/webhooks/generic';
      // A turn that changes state: its answer is stored, and the same turn sent again gets it replayed.
      const body = JSON.stringify({
        requestId: `fidelity-transfer-${RUN}`,
        sessionId: `fidelity-${RUN}`,
        intent: 'TransferFunds',
        stage: 'fulfillment',
        confirmation: 'confirmed',
        parameters: { user_id: '12345', from_account: 'checking', to_account: 'savings', amount: 1 },
      });
      const encoded = (encoding: string, bytes: Buffer) =>
        send(GENERIC, {
          headers: { ...BEARER, 'Content-Type': 'application/json', 'Content-Encoding': encoding },
          body: bytes,
        });
      const gzip = await encoded('gzip', gzipSync(body));
      expect(gzip.status).toBe(200);
      expectDocumented('post', GENERIC, gzip);
      const deflate = await encoded('deflate', deflateSync(body));
      expect(deflate.status).toBe(200);
      expect(deflate.headers['idempotent-replayed']).toBe('true');
      expectDocumented('post', GENERIC, deflate);
      const brotli = await encoded('br', brotliCompressSync(body));
      expect(brotli.status).toBe(415);
      expectDocumented('post', GENERIC, brotli);
      expect(brotli.json()).toEqual({
        ...namedExample(GENERIC, 'post', 415, 'notDecoded'),
        requestId: expect.any(String),
      });
      expect(document.paths[GENERIC].post.responses['415'].description).toMatch(/other than gzip or deflate/);
    });

    it('polling work still running: 200 with Retry-After, as documented', async () => {
      const turn = await postJson('/v1/webhooks/generic', { sessionId: `fidelity-${RUN}`, intent: 'TestSlow' });
      expect(turn.status).toBe(200);
      expectDocumented('post', '/v1/webhooks/generic', turn);
      const { pendingFulfillmentId } = turn.json<{ sessionParameters: { pendingFulfillmentId: string } }>()
        .sessionParameters;
      const running = await get(`/v1/fulfillments/${pendingFulfillmentId}`);
      expect({ status: running.status, retryAfter: running.headers['retry-after'] }).toEqual({
        status: 200,
        retryAfter: '1',
      });
      expectDocumented('get', '/v1/fulfillments/{id}', running);
    });
  });

  describe('request bodies', () => {
    /** [what, route, changes to its documented example (dotted paths; undefined removes)] */
    const refused: [string, string, Record<string, unknown>][] = [
      [
        'Lex V2: a session attribute that is not a string',
        '/v1/webhooks/lex-v2',
        { 'sessionState.sessionAttributes': { a: 1 } },
      ],
      [
        'Lex V2: a slot that is neither null nor an object',
        '/v1/webhooks/lex-v2',
        { 'sessionState.intent.slots.user_id': 's' },
      ],
      [
        'Dialogflow CX: an intent parameter that is not {originalValue, resolvedValue}',
        '/v1/webhooks/dialogflow-cx',
        { 'intentInfo.parameters.user_id': 's' },
      ],
      [
        'Dialogflow CX: neither a fulfillment tag nor an intent to route by',
        '/v1/webhooks/dialogflow-cx',
        { fulfillmentInfo: undefined, intentInfo: undefined },
      ],
    ];

    it.each(refused)('%s: refused by the service and by the documented schema', async (_what, path, changes) => {
      const schema = `/paths/${token(path)}/post/requestBody/content/application~1json/schema`;
      const body = example(path);
      expect(violations(schema, body)).toEqual([]);
      for (const [at, value] of Object.entries(changes)) {
        const keys = at.split('.');
        const last = keys.pop()!;
        const parent = keys.reduce((node, key) => node[key] as Record<string, unknown>, body);
        if (value === undefined) delete parent[last];
        else parent[last] = value;
      }
      const answer = await postJson(path, body);
      expect(answer.status).toBe(400);
      expectDocumented('post', path, answer);
      expect(violations(schema, body)).not.toEqual([]);
    });
  });
});
