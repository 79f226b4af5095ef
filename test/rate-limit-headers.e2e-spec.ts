import { credentials, type Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForAuditRow } from './support/audit-events';
import { grpcMetadata, openGrpcClient, type ServiceClient } from './support/grpc-client';
import { testRedisUrl } from './support/redis';
import { startTestApp, type TestApp } from './support/test-app';
import { TestHandlersModule } from './support/test-handlers';
import { generateCertificates, httpsPost, type HttpsResponse, pem } from './support/tls-fixtures';

// Rate-limit counters live in the shared test Redis: ids unique to this run keep runs apart.
const RUN = randomBytes(4).toString('hex');
const SHARED = `shared-${RUN}`;
const ROUTED = `routed-${RUN}`;
const PLAIN = `plain-${RUN}`;
const TOKENS = {
  [SHARED]: `rl-shared-token-${RUN}-0123456789abcdef`,
  [ROUTED]: `rl-routed-token-${RUN}-0123456789abcdef`,
  [PLAIN]: `rl-plain-token-${RUN}-0123456789abcdef`,
};
const ES_BODY = readFileSync(join(__dirname, 'fixtures', 'dialogflow-es', 'intents', 'GetAccountBalance.json'));

interface GrpcAnswer {
  error: ServiceError | null;
  /** The initial (header) metadata; absent on a refusal sent as trailers only. */
  headers?: Metadata;
}

/** `"name";q=600;w=60` / `"name";r=42;t=17` → { name, q, w } / { name, r, t } (one item, as we send). */
function field(value: unknown): Record<string, string | number> {
  expect(typeof value).toBe('string');
  const match = /^"((?:[^"\\]|\\.)*)"((?:;[a-z]+=\d+)+)$/.exec(value as string);
  if (!match) throw new Error(`not a single Structured Field item with integer parameters: ${String(value)}`);
  const parsed: Record<string, string | number> = { name: match[1] };
  for (const parameter of match[2].slice(1).split(';')) {
    const [key, number] = parameter.split('=');
    parsed[key] = Number(number);
  }
  return parsed;
}

function callersFile(dir: string): string {
  const file = join(dir, 'callers.yaml');
  writeFileSync(
    file,
    [
      'callers:',
      `  - id: ${SHARED}`,
      '    platforms: [generic, dialogflow-es]',
      `    auth: { bearer: { tokens: [${TOKENS[SHARED]}] } }`,
      '    rateLimit: { requests: 6, perSeconds: 600 }',
      `  - id: ${ROUTED}`,
      '    platforms: [generic, dialogflow-es]',
      `    auth: { bearer: { tokens: [${TOKENS[ROUTED]}] } }`,
      '    rateLimit:',
      '      requests: 50',
      '      perSeconds: 600',
      '      routes:',
      "        'POST /v1/webhooks/generic': { requests: 2, perSeconds: 300 }",
      "        'fulfillment.v1.FulfillmentService/Fulfill': { requests: 1, perSeconds: 120 }",
      "        'GET /v1/fulfillments/:id': { requests: 2, perSeconds: 300 }",
      `  - id: ${PLAIN}`,
      '    platforms: [generic]',
      `    auth: { bearer: { tokens: [${TOKENS[PLAIN]}] } }`,
      '',
    ].join('\n'),
  );
  return file;
}

describe('RateLimit header fields and one budget per caller (HTTPS and gRPC, two replicas on Redis)', () => {
  const root = mkdtempSync(join(tmpdir(), 'wf-ratelimit-'));
  const certs = join(root, 'certs');
  let a: TestApp;
  let b: TestApp;
  let grpcClient: ServiceClient;

  beforeAll(async () => {
    generateCertificates(certs);
    const env = {
      CALLERS_FILE: callersFile(root),
      REDIS_URL: testRedisUrl(),
      THROTTLE_LIMIT: '7',
      THROTTLE_TTL_SECONDS: '90',
      TLS_CERT_FILE: join(certs, 'server.crt'),
      TLS_KEY_FILE: join(certs, 'server.key'),
      TLS_CA_FILE: join(certs, 'ca.crt'),
      TLS_CLIENT_AUTH: 'optional',
    };
    [a, b] = await Promise.all([
      startTestApp({ env: { ...env, GRPC_ENABLED: 'true' }, imports: [TestHandlersModule] }),
      startTestApp({ env, imports: [TestHandlersModule] }),
    ]);
    grpcClient = openGrpcClient(a.grpcPort ?? 0, credentials.createSsl(pem(certs, 'ca.crt')));
  }, 90_000);

  afterAll(async () => {
    grpcClient?.close();
    await Promise.all([a?.close(), b?.close()]);
    rmSync(root, { recursive: true, force: true });
  });

  function https(
    app: TestApp,
    caller: keyof typeof TOKENS,
    method: 'GET' | 'HEAD' | 'POST',
    path: string,
    body?: string | Buffer,
    requestId: string = randomUUID(),
  ): Promise<HttpsResponse> {
    const { port } = app.app.getHttpServer().address() as AddressInfo;
    return httpsPost({
      port,
      method,
      path,
      body,
      ca: pem(certs, 'ca.crt'),
      headers: { Authorization: `Bearer ${TOKENS[caller]}`, 'X-Request-Id': requestId },
    });
  }

  const generic = (app: TestApp, caller: keyof typeof TOKENS) =>
    https(
      app,
      caller,
      'POST',
      '/v1/webhooks/generic',
      JSON.stringify({ sessionId: `s-${randomUUID()}`, intent: 'GetAccountBalance', parameters: {} }),
    );
  const dialogflowEs = (app: TestApp, caller: keyof typeof TOKENS) =>
    https(app, caller, 'POST', '/v1/webhooks/dialogflow-es', ES_BODY);
  const poll = (app: TestApp, caller: keyof typeof TOKENS) =>
    https(app, caller, 'GET', `/v1/fulfillments/${randomUUID()}`);

  function grpc(method: 'Fulfill' | 'HandleWebhook', caller: keyof typeof TOKENS, requestId: string = randomUUID()) {
    const request =
      method === 'Fulfill'
        ? { sessionId: `g-${randomUUID()}`, intent: 'GetAccountBalance' }
        : { platform: 'dialogflow-es', json: ES_BODY };
    const metadata = grpcMetadata({ authorization: `Bearer ${TOKENS[caller]}`, 'x-request-id': requestId });
    return new Promise<GrpcAnswer>((resolve) => {
      let headers: Metadata | undefined;
      const call = grpcClient[method](request, metadata, { deadline: new Date(Date.now() + 10_000) }, (error) =>
        resolve({ error, headers }),
      );
      call.on('metadata', (received: Metadata) => (headers = received));
    });
  }

  it('sends RateLimit-Policy and RateLimit on an authenticated call, with THROTTLE_LIMIT/THROTTLE_TTL_SECONDS', async () => {
    const first = await generic(a, PLAIN);
    expect(first.status).toBe(200);
    expect(field(first.headers['ratelimit-policy'])).toEqual({ name: 'default', q: 7, w: 90 });
    const state = field(first.headers.ratelimit);
    expect(state).toMatchObject({ name: 'default', r: 6 });
    expect(state.t).toBeGreaterThan(0);
    expect(state.t).toBeLessThanOrEqual(90);
    // The old non-standard fields are gone.
    expect(first.headers['x-ratelimit-limit']).toBeUndefined();
    expect(field((await generic(b, PLAIN)).headers.ratelimit)).toMatchObject({ name: 'default', r: 5 });
  });

  it('sends them on gRPC as initial metadata (ratelimit-policy, ratelimit)', async () => {
    const answer = await grpc('Fulfill', PLAIN);
    expect(answer.error).toBeNull();
    expect(answer.headers?.get('x-request-id')).toHaveLength(1);
    expect(field(answer.headers?.get('ratelimit-policy')[0])).toEqual({ name: 'default', q: 7, w: 90 });
    expect(field(answer.headers?.get('ratelimit')[0])).toMatchObject({ name: 'default', r: 4 });
  });

  it('draws every route and gRPC method of a caller from one counter, across replicas, until it runs out', async () => {
    const remaining: number[] = [];
    const steps: (() => Promise<number>)[] = [
      async () => field((await generic(a, SHARED)).headers.ratelimit).r as number,
      async () => field((await grpc('Fulfill', SHARED)).headers?.get('ratelimit')[0]).r as number,
      async () => field((await dialogflowEs(b, SHARED)).headers.ratelimit).r as number,
      async () => field((await grpc('HandleWebhook', SHARED)).headers?.get('ratelimit')[0]).r as number,
      async () => field((await poll(b, SHARED)).headers.ratelimit).r as number,
      async () => field((await generic(b, SHARED)).headers.ratelimit).r as number,
    ];
    for (const step of steps) remaining.push(await step());
    expect(remaining).toEqual([5, 4, 3, 2, 1, 0]);

    const refused = await https(a, SHARED, 'GET', `/v1/fulfillments/${randomUUID()}`, undefined, `rl-429-${RUN}`);
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ statusCode: 429, error: 'RATE_LIMITED', requestId: `rl-429-${RUN}` });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(field(refused.headers['ratelimit-policy'])).toEqual({ name: 'default', q: 6, w: 600 });
    expect(field(refused.headers.ratelimit)).toEqual({ name: 'default', r: 0, t: retryAfter });
    const row = await waitForAuditRow(a.database.url, (r) => r.request_id === `rl-429-${RUN}`);
    expect(row).toMatchObject({ event: 'excess_rate_limit_exceeded', caller_id: SHARED });

    const grpcRefused = await grpc('HandleWebhook', SHARED);
    expect(grpcRefused.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    const trailers = grpcRefused.error?.metadata;
    expect(Number(trailers?.get('retry-after')[0])).toBeGreaterThan(0);
    expect(field(trailers?.get('ratelimit-policy')[0])).toEqual({ name: 'default', q: 6, w: 600 });
    expect(field(trailers?.get('ratelimit')[0])).toMatchObject({ name: 'default', r: 0 });
    expect((await dialogflowEs(b, SHARED)).status).toBe(429);
  });

  it('gives a route named in rateLimit.routes its own counter and policy; the other routes share the rest', async () => {
    const own = [await generic(a, ROUTED), await generic(b, ROUTED)];
    expect(own.map((answer) => answer.status)).toEqual([200, 200]);
    for (const answer of own) {
      expect(field(answer.headers['ratelimit-policy'])).toEqual({ name: 'POST /v1/webhooks/generic', q: 2, w: 300 });
    }
    expect(own.map((answer) => field(answer.headers.ratelimit).r)).toEqual([1, 0]);
    const refused = await generic(a, ROUTED);
    expect(refused.status).toBe(429);
    expect(field(refused.headers.ratelimit)).toMatchObject({ name: 'POST /v1/webhooks/generic', r: 0 });

    // Other routes of the same caller: the caller's budget, untouched by the generic route's calls.
    const other = await dialogflowEs(a, ROUTED);
    expect(other.status).toBe(200);
    expect(field(other.headers['ratelimit-policy'])).toEqual({ name: 'default', q: 50, w: 600 });
    expect(field(other.headers.ratelimit)).toMatchObject({ name: 'default', r: 49 });

    const fulfill = await grpc('Fulfill', ROUTED);
    expect(fulfill.error).toBeNull();
    expect(field(fulfill.headers?.get('ratelimit-policy')[0])).toEqual({
      name: 'fulfillment.v1.FulfillmentService/Fulfill',
      q: 1,
      w: 120,
    });
    expect((await grpc('Fulfill', ROUTED)).error?.code).toBe(status.RESOURCE_EXHAUSTED);
    const relay = await grpc('HandleWebhook', ROUTED);
    expect(relay.error).toBeNull();
    expect(field(relay.headers?.get('ratelimit')[0])).toMatchObject({ name: 'default', r: 48 });
  });

  it('counts a HEAD as the GET it is served by: polling by HEAD draws from the route budget, not around it', async () => {
    const head = () => https(a, ROUTED, 'HEAD', `/v1/fulfillments/${randomUUID()}`);
    const first = await head();
    expect(field(first.headers['ratelimit-policy'])).toEqual({ name: 'GET /v1/fulfillments/:id', q: 2, w: 300 });
    expect(field(first.headers.ratelimit)).toMatchObject({ r: 1 });
    const get = await poll(b, ROUTED);
    expect(field(get.headers.ratelimit)).toMatchObject({ name: 'GET /v1/fulfillments/:id', r: 0 });
    expect((await head()).status).toBe(429);
  });
});
