import Ajv2020 from 'ajv/dist/2020';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { sendRaw } from './support/raw-http';
import { startTestApp, TestApp } from './support/test-app';

/** The parts of the document this test reads. */
interface Media {
  schema?: { $ref?: string; oneOf?: { $ref?: string }[] };
  example?: unknown;
  examples?: Record<string, { summary: string; value: Record<string, unknown> }>;
}
interface Operation {
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { description: string; content?: Record<string, Media> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, object> };
}

const VALIDATOR = join(__dirname, '..', 'scripts', 'validate-openapi.mjs');
const PLATFORM_ROUTES = ['dialogflow-es', 'dialogflow-cx', 'lex-v2', 'rasa', 'generic'].map(
  (platform) => `/v1/webhooks/${platform}`,
);
const GENERIC = '/v1/webhooks/generic';

/** The document as served at /openapi.json, checked as "Try it out" and an SRE's tooling would use it. */
describe('OpenAPI document (the real application, real requests)', () => {
  let t: TestApp;
  let document: Document;

  beforeAll(async () => {
    // A low per-caller limit, so that the last test can reach a real 429 within a few requests.
    t = await startTestApp({ env: { THROTTLE_LIMIT: '40' } });
    document = (await (await fetch(`${t.baseUrl}/openapi.json`)).json()) as Document;
  });
  afterAll(() => t.close());

  const operation = (path: string, method = 'post'): Operation => document.paths[path][method];
  const errorExample = (path: string, status: number, name: string, method = 'post') => {
    const example = operation(path, method).responses[String(status)]?.content?.['application/json']?.examples?.[name];
    expect(example).toBeDefined();
    return example!.value;
  };
  /** A real answer matches its documented example in everything but the request id. */
  const expectDocumented = (answer: Record<string, unknown>, example: Record<string, unknown>) => {
    const { requestId, ...documented } = example;
    expect(typeof requestId).toBe('string');
    expect(answer).toEqual({ ...documented, requestId: expect.any(String) });
  };
  const post = (body: string, headers: Record<string, string> = {}, path = GENERIC) =>
    sendRaw(t.baseUrl, path, { headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json', ...headers }, body });

  it('is valid OpenAPI 3.1 by a maintained validator, with every $ref resolved', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(document));
      // In a child process (the validator is an ES module) that does not hold up the application's event loop.
      const { stdout } = await promisify(execFile)(process.execPath, [VALIDATOR, file], { encoding: 'utf8' });
      const result = JSON.parse(stdout) as object;
      expect(result).toEqual({ valid: true, version: '3.1', errors: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(document.openapi).toBe('3.1.0');
  });

  it('publishes the length limits the validation applies (maxLength in characters)', () => {
    const generic = document.components.schemas.GenericWebhookRequest as {
      properties: Record<string, { maxLength?: number }>;
    };
    expect(generic.properties.sessionId.maxLength).toBe(512);
    expect(generic.properties.requestId.maxLength).toBe(255);
    expect(generic.properties.intent.maxLength).toBe(512);
  });

  it('uses no 3.0-only keyword (nullable) in any schema', () => {
    expect(JSON.stringify(document)).not.toContain('"nullable"');
  });

  it.each(PLATFORM_ROUTES)(
    '%s: a typed request body from the DTO, whose example is valid and answered 200',
    async (path) => {
      const media = operation(path).requestBody?.content['application/json'];
      const ref = media?.schema?.$ref ?? '';
      expect(ref).toMatch(/^#\/components\/schemas\/\w+$/);
      const schema = document.components.schemas[ref.split('/').pop()!] as { required?: string[] };
      expect(schema.required?.length).toBeGreaterThan(0);
      // The example satisfies the documented schema...
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      for (const [name, component] of Object.entries(document.components.schemas)) {
        ajv.addSchema(component, `#/components/schemas/${name}`);
      }
      const validate = ajv.compile({ $ref: ref });
      expect(validate(media?.example) ? [] : validate.errors).toEqual([]);
      // ...and is what "Try it out" sends: the local development token gets 200 with the platform's reply.
      const answer = await post(JSON.stringify(media?.example), {}, path);
      expect({ status: answer.status, body: answer.text }).toMatchObject({ status: 200 });
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
    },
  );

  it('documents every error status with an example of the real body, valid by the schema it names', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
    // The whole document under one id, so that the "#/components/…" references of a response's schema resolve.
    ajv.addSchema({ ...document, $id: 'https://openapi.test/openapi.json' });
    const ERROR = '#/components/schemas/ErrorResponseSchema';
    const RASA_ERROR = '#/components/schemas/RasaErrorResponse';
    /** ErrorResponse everywhere; the Rasa SDK's own body beside it on the Rasa webhook's 400, alone on its 404. */
    const bodies = (path: string, status: string) =>
      path !== '/v1/webhooks/rasa' ? [ERROR] : ({ '400': [ERROR, RASA_ERROR], '404': [RASA_ERROR] }[status] ?? [ERROR]);
    for (const path of [...PLATFORM_ROUTES, '/v1/fulfillments/{id}']) {
      const method = path.startsWith('/v1/fulfillments') ? 'get' : 'post';
      for (const [status, response] of Object.entries(operation(path, method).responses)) {
        if (Number(status) < 400) continue;
        const media = response.content?.['application/json'];
        const refs = (media?.schema?.oneOf ?? [media?.schema]).map((alternative) => alternative?.$ref);
        expect({ path, status, refs }).toEqual({ path, status, refs: bodies(path, status) });
        const examples = Object.values(media?.examples ?? {});
        expect({ path, status, examples: examples.length }).toEqual({ path, status, examples: expect.any(Number) });
        expect(examples.length).toBeGreaterThan(0);
        const pointer = `/paths/${path.replace(/\//g, '~1')}/${method}/responses/${status}/content/application~1json/schema`;
        const validate = ajv.getSchema(`https://openapi.test/openapi.json#${pointer}`)!;
        for (const { value } of examples) {
          if ('statusCode' in value) expect(value).toMatchObject({ statusCode: Number(status) });
          // Before, the schema's error enum lacked IDEMPOTENCY_IN_PROGRESS, UNAVAILABLE and others it answers.
          expect({ path, status, errors: validate(value) ? [] : validate.errors }).toEqual({
            path,
            status,
            errors: [],
          });
        }
      }
    }
  });

  it('the error examples are what the service answers', async () => {
    const malformed = await post('{"sessionId":');
    expect(malformed.status).toBe(400);
    expectDocumented(malformed.json(), errorExample(GENERIC, 400, 'malformedJson'));

    const invalid = await post(JSON.stringify({ intent: 'GetAccountBalance', sessionId: '' }));
    expect(invalid.status).toBe(400);
    expectDocumented(invalid.json(), errorExample(GENERIC, 400, 'validationFailed'));

    const unauthenticated = await post('{}', { Authorization: 'Bearer not-a-known-token' });
    expect(unauthenticated.status).toBe(401);
    expectDocumented(unauthenticated.json(), errorExample(GENERIC, 401, 'unauthenticated'));

    const tooLarge = await post(JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }));
    expect(tooLarge.status).toBe(413);
    expectDocumented(tooLarge.json(), errorExample(GENERIC, 413, 'tooLarge'));

    const notJson = await post('text', { 'Content-Type': 'text/plain' });
    expect(notJson.status).toBe(415);
    expectDocumented(notJson.json(), errorExample(GENERIC, 415, 'notJson'));

    const transfer = (amount: number) =>
      JSON.stringify({
        requestId: 'openapi-reused',
        sessionId: 'openapi',
        intent: 'TransferFunds',
        stage: 'fulfillment',
        confirmation: 'confirmed',
        parameters: { user_id: '12345', from_account: 'checking', to_account: 'savings', amount },
      });
    expect((await post(transfer(1))).status).toBe(200);
    const reused = await post(transfer(2));
    expect(reused.status).toBe(422);
    expectDocumented(reused.json(), errorExample(GENERIC, 422, 'reused'));

    const missing = await sendRaw(t.baseUrl, '/v1/fulfillments/8a1f2a57-7c0b-4bd5-9d4e-4d1c36b0b0a1', {
      method: 'GET',
      headers: LOCAL_DEV_AUTH,
    });
    expect(missing.status).toBe(404);
    expectDocumented(missing.json(), errorExample('/v1/fulfillments/{id}', 404, 'notFound', 'get'));

    // The polling route reads no body: its 400 is a malformed request, and only that is its example.
    const twice = await sendRaw(t.baseUrl, '/v1/fulfillments/8a1f2a57-7c0b-4bd5-9d4e-4d1c36b0b0a1', {
      method: 'GET',
      headers: { Authorization: [LOCAL_DEV_AUTH.Authorization, LOCAL_DEV_AUTH.Authorization] },
    });
    expect(twice.status).toBe(400);
    expectDocumented(twice.json(), errorExample('/v1/fulfillments/{id}', 400, 'malformedRequest', 'get'));
    const pollExamples = operation('/v1/fulfillments/{id}', 'get').responses['400'].content?.['application/json']
      ?.examples;
    expect(Object.keys(pollExamples ?? {})).toEqual(['malformedRequest']);
  });

  // Last: it spends the caller's allowance.
  it('the 429 example is what the rate limit answers', async () => {
    let limited: Record<string, unknown> | undefined;
    for (let sent = 0; sent < 60 && !limited; sent += 1) {
      const answer = await post(JSON.stringify({ sessionId: 'openapi-429', intent: 'GetAccountBalance' }));
      if (answer.status === 429) limited = answer.json();
    }
    expect(limited).toBeDefined();
    expectDocumented(limited!, errorExample(GENERIC, 429, 'rateLimited'));
  });
});
