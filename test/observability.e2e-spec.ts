// First: starts tracing with an in-memory exporter before the application exists.
import { finishedSpans, stopTracing } from './support/in-memory-tracing';

import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { toStruct } from '../src/grpc/struct';
import { declinedTransfer, esRequest, LOCAL_DEV_AUTH, README_REQUEST } from './support/dialogflow-es.fixtures';
import { grpcMetadata, openGrpcClient, unary } from './support/grpc-client';
import { freePort, startService } from './support/service-process';
import { startTestApp, TestApp } from './support/test-app';
import { TestHandlersModule } from './support/test-handlers';
import { createTestDatabase } from './support/test-database';

const PATH = '/v1/webhooks/dialogflow-es';
const grpcAuth = { authorization: LOCAL_DEV_AUTH.Authorization };

/** A caller's W3C trace context: the service must continue this trace. */
function traceparent(): { header: string; traceId: string; parentId: string } {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  return { header: `00-${traceId}-${parentId}-01`, traceId, parentId };
}

/** Left out where a test looks for digits: a random port (33247) once contained a balance's. */
const PORTS = ['server.port', 'network.peer.port', 'client.port'];

/** What a span tells an observer: everything but its ids and timings (and the attributes `leaveOut` names). */
function visible(spans: readonly ReadableSpan[], leaveOut: readonly string[] = []): string {
  return JSON.stringify(
    spans.map((span) => ({
      name: span.name,
      attributes: Object.fromEntries(Object.entries(span.attributes).filter(([key]) => !leaveOut.includes(key))),
      events: span.events,
      status: span.status,
    })),
  );
}

async function spansOfTrace(traceId: string, until: (spans: ReadableSpan[]) => boolean): Promise<ReadableSpan[]> {
  for (let attempt = 0; ; attempt += 1) {
    const spans = (await finishedSpans()).filter((span) => span.spanContext().traceId === traceId);
    if (until(spans) || attempt >= 50) return spans;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** A carrier API that keeps each request's raw headers (a header sent twice shows twice). */
async function recordingCarrier() {
  const rawHeaders: string[][] = [];
  const server = createServer((req, res) => {
    rawHeaders.push(req.rawHeaders);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ carrier: 'DemoPost', service: 'express', days: 1 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Each request's values of a header, by lower-case name. */
    values: (name: string) =>
      rawHeaders.map((raw) => raw.filter((_, index) => index % 2 === 1 && raw[index - 1].toLowerCase() === name)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('observability', () => {
  let t: TestApp;
  let metricsUrl: string;
  let carrier: Awaited<ReturnType<typeof recordingCarrier>>;

  beforeAll(async () => {
    carrier = await recordingCarrier();
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    t = await startTestApp({
      env: {
        METRICS_ENABLED: 'true',
        METRICS_PORT: String(metricsPort),
        TRACE_PARAMETER_ALLOWLIST: 'account_type,from_account',
        TRUSTED_PROXIES: '127.0.0.1/32',
        GRPC_ENABLED: 'true',
        CARRIER_API_URL: carrier.url,
      },
      imports: [TestHandlersModule],
    });
  });
  afterAll(async () => {
    await t?.close();
    await carrier?.close();
    await stopTracing();
  });

  describe('traces', () => {
    it("shows a webhook request as HTTP → turn → handler → pg, in the caller's trace, and nothing else", async () => {
      const caller = traceparent();
      await request(t.baseUrl)
        .post(PATH)
        .set(LOCAL_DEV_AUTH)
        .set('traceparent', caller.header)
        .send(README_REQUEST)
        .expect(200);

      const spans = await spansOfTrace(caller.traceId, (found) => found.some((span) => span.kind === SpanKind.SERVER));
      const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]));
      const parentOf = (span: ReadableSpan) => byId.get(span.parentSpanContext?.spanId ?? '');
      const one = (predicate: (span: ReadableSpan) => boolean, what: string) => {
        const matching = spans.filter(predicate);
        if (matching.length !== 1) throw new Error(`expected one ${what} span, got: ${visible(spans)}`);
        return matching[0];
      };

      const server = one((span) => span.kind === SpanKind.SERVER, 'HTTP server');
      expect(server.parentSpanContext?.spanId).toBe(caller.parentId);
      expect(server.attributes).toMatchObject({ 'http.route': PATH, 'http.response.status_code': 200 });

      const turn = one((span) => span.name === 'turn GetAccountBalance', 'turn');
      const handler = one((span) => span.name === 'handle AccountBalanceHandler', 'handler');
      const query = one(
        (span) => span.kind === SpanKind.CLIENT && span.attributes['db.system.name'] === 'postgresql',
        'pg',
      );
      expect(parentOf(query)).toBe(handler);
      expect(parentOf(handler)).toBe(turn);
      expect(parentOf(turn)).toBe(server);
      // No span per middleware, router layer or Nest controller: they cost more than they tell.
      expect(spans.map((span) => span.name).sort()).toEqual(
        [server, turn, handler, query].map((span) => span.name).sort(),
      );

      expect(turn.attributes).toMatchObject({
        'fulfillment.platform': 'dialogflow-es',
        'fulfillment.intent': 'GetAccountBalance',
        'fulfillment.caller_id': 'local-dev',
        'fulfillment.outcome': 'fulfilled',
        'fulfillment.idempotent_replay': false,
        'fulfillment.parameter_names': ['user_id', 'account_type'],
        'fulfillment.parameter.account_type': 'checking',
      });
      expect(handler.attributes).toMatchObject({ 'fulfillment.handler': 'AccountBalanceHandler' });
      expect(query.attributes['db.query.text']).toMatch(/customer_number = \$1/);

      // The customer number, the balance read, the token and the user's words are nowhere.
      const seen = visible(spans, PORTS);
      expect(seen).not.toContain('12345');
      expect(seen).not.toContain('3247');
      expect(seen).not.toContain('local-dev-token');
      expect(seen).not.toContain('What is my account balance');
      expect(turn.attributes).not.toHaveProperty('fulfillment.parameter.user_id');
    });

    it("carries the trace to an outbound call in one traceparent, the client span's, and no caller baggage", async () => {
      const caller = traceparent();
      const response = await request(t.baseUrl)
        .post(PATH)
        .set(LOCAL_DEV_AUTH)
        .set('traceparent', caller.header)
        .set('baggage', 'customer=12345,session=secret-value')
        .send(esRequest('GetShippingEstimate', { sku: 'K7', postcode: '07030' }))
        .expect(200);
      expect(response.body.fulfillmentText).toContain('DemoPost express');

      const [sent] = carrier.values('traceparent').slice(-1);
      expect(sent).toHaveLength(1);
      const spans = await spansOfTrace(caller.traceId, (found) =>
        found.some((span) => span.kind === SpanKind.CLIENT && span.name === 'GET'),
      );
      const client = spans.find((span) => span.kind === SpanKind.CLIENT && span.name === 'GET');
      expect(sent[0]).toBe(`00-${caller.traceId}-${client?.spanContext().spanId}-01`);
      // A caller's baggage is not handed on to the services the turn calls.
      expect(carrier.values('baggage').slice(-1)).toEqual([[]]);
    });

    it('marks the turn span an error when the turn was answered but failed, with the outcome as error.type', async () => {
      const caller = traceparent();
      await request(t.baseUrl)
        .post(PATH)
        .set(LOCAL_DEV_AUTH)
        .set('traceparent', caller.header)
        .send(esRequest('TestExplode', {}))
        .expect(200);
      const spans = await spansOfTrace(caller.traceId, (found) => found.some((span) => span.kind === SpanKind.SERVER));
      const turn = spans.find((span) => span.name === 'turn TestExplode');
      expect(turn?.attributes).toMatchObject({ 'fulfillment.outcome': 'failed', 'error.type': 'failed' });
      expect(turn?.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'failed' });
    });

    it('keeps amounts and customer numbers of a state-changing turn out of its spans; marks a replay', async () => {
      const turn = esRequest('TransferFunds', {
        user_id: '12345',
        from_account: 'checking',
        to_account: 'savings',
        amount: 77.31,
        confirmation: 'yes',
      });
      const first = traceparent();
      const done = await request(t.baseUrl)
        .post(PATH)
        .set(LOCAL_DEV_AUTH)
        .set('traceparent', first.header)
        .send(turn)
        .expect(200);
      expect(done.body.fulfillmentText).toMatch(/^Done: I moved \$77\.31/);
      const again = traceparent();
      await request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).set('traceparent', again.header).send(turn).expect(200);

      const turnSpan = (spans: ReadableSpan[]) => spans.find((span) => span.name === 'turn TransferFunds');
      const firstSpans = await spansOfTrace(first.traceId, (spans) => turnSpan(spans) !== undefined);
      const againSpans = await spansOfTrace(again.traceId, (spans) => turnSpan(spans) !== undefined);
      expect(turnSpan(firstSpans)?.attributes).toMatchObject({
        'fulfillment.outcome': 'fulfilled',
        'fulfillment.idempotent_replay': false,
        'fulfillment.parameter.from_account': 'checking',
      });
      expect(turnSpan(againSpans)?.attributes).toMatchObject({
        'fulfillment.outcome': 'replayed',
        'fulfillment.idempotent_replay': true,
      });
      expect(firstSpans.filter((span) => span.attributes['db.system.name'] === 'postgresql').length).toBeGreaterThan(2);
      const seen = visible([...firstSpans, ...againSpans], PORTS);
      expect(seen).not.toContain('12345');
      expect(seen).not.toContain('77.31');
      expect(seen).not.toContain('Done: I moved');
    });

    it('redacts query-string values in URLs', async () => {
      const caller = traceparent();
      await request(t.baseUrl)
        .post(`${PATH}?token=qs-secret-value&x=1`)
        .set(LOCAL_DEV_AUTH)
        .set('traceparent', caller.header)
        .send(README_REQUEST)
        .expect(200);
      const spans = await spansOfTrace(caller.traceId, (found) => found.some((span) => span.kind === SpanKind.SERVER));
      const server = spans.find((span) => span.kind === SpanKind.SERVER);
      expect(server?.attributes['url.query']).toBe('token=REDACTED&x=REDACTED');
      expect(visible(spans)).not.toContain('qs-secret-value');
    });

    it('names the client behind a trusted proxy as client.address, the proxy as network.peer.address', async () => {
      // Loopback clients (127.0.0.0/8): the local-dev caller is only accepted from this host.
      const viaHttp = traceparent();
      await request(t.baseUrl)
        .post(PATH)
        .set(LOCAL_DEV_AUTH)
        .set('traceparent', viaHttp.header)
        .set('x-forwarded-for', '198.51.100.20, 127.0.0.9')
        .send(README_REQUEST)
        .expect(200);
      const httpServer = (
        await spansOfTrace(viaHttp.traceId, (found) => found.some((span) => span.kind === SpanKind.SERVER))
      ).find((span) => span.kind === SpanKind.SERVER);
      expect(httpServer?.attributes['client.address']).toBe('127.0.0.9');
      expect(httpServer?.attributes['network.peer.address']).toMatch(/127\.0\.0\.1$/);

      const client = openGrpcClient(t.grpcPort ?? 0);
      try {
        await unary(
          client,
          'Fulfill',
          { sessionId: 'traced', intent: 'GetAccountBalance', parameters: toStruct({ account_type: 'checking' }) },
          grpcMetadata({ ...grpcAuth, 'x-request-id': 'traced-grpc', 'x-forwarded-for': '127.0.0.8' }),
        );
      } finally {
        client.close();
      }
      // The test's grpc-js client is instrumented too and starts its own trace: find the server span by kind.
      const isGrpcServer = (span: ReadableSpan) =>
        span.kind === SpanKind.SERVER && span.attributes['rpc.system'] === 'grpc';
      let grpcServer: ReadableSpan | undefined;
      for (let attempt = 0; attempt < 50 && !grpcServer; attempt += 1) {
        grpcServer = (await finishedSpans()).filter(isGrpcServer).at(-1);
        if (!grpcServer) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(grpcServer?.name).toBe('grpc.fulfillment.v1.FulfillmentService/Fulfill');
      expect(grpcServer?.attributes['client.address']).toBe('127.0.0.8');
    });

    it('starts a new trace when the caller sends none', async () => {
      await request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).send(esRequest('NoSuchIntent')).expect(200);
      const spans = await finishedSpans();
      const turn = spans.filter((span) => span.name === 'turn unknown').at(-1);
      expect(turn?.attributes).toMatchObject({ 'fulfillment.intent': 'unknown', 'fulfillment.outcome': 'fallback' });
      expect(visible(spans)).not.toContain('NoSuchIntent');
    });
  });

  describe('metrics', () => {
    const scrape = async (): Promise<string> => {
      const response = await fetch(metricsUrl);
      expect(response.status).toBe(200);
      return response.text();
    };

    it('serves Prometheus text on its own port, and the counters move', async () => {
      const fulfilled =
        'fulfillment_requests_total{platform="dialogflow-es",intent="GetAccountBalance",outcome="fulfilled"}';
      const duration =
        'fulfillment_request_duration_seconds_count{platform="dialogflow-es",intent="GetAccountBalance",outcome="fulfilled"}';
      const fallback = 'fulfillment_requests_total{platform="dialogflow-es",intent="unknown",outcome="fallback"}';
      const authFailed = 'auth_failures_total{method="bearer",reason="unknown-token"}';
      const replays = 'idempotent_replays_total{platform="dialogflow-es",intent="TransferFunds"}';
      const declined = declinedTransfer();
      const before = await scrape();

      await request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).send(README_REQUEST).expect(200);
      await request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).send(esRequest('MadeUpIntent42')).expect(200);
      await request(t.baseUrl)
        .post(PATH)
        .set('Authorization', 'Bearer not-a-known-token-0123456789')
        .send(README_REQUEST)
        .expect(401);
      for (let delivery = 0; delivery < 2; delivery += 1) {
        await request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).send(declined).expect(200);
      }

      const after = await scrape();
      expect(metricValue(after, fulfilled)).toBe(metricValue(before, fulfilled) + 1);
      expect(metricValue(after, duration)).toBe(metricValue(before, duration) + 1);
      expect(metricValue(after, fallback)).toBe(metricValue(before, fallback) + 1);
      expect(metricValue(after, authFailed)).toBe(metricValue(before, authFailed) + 1);
      expect(after).toContain('# TYPE fulfillment_request_duration_seconds histogram');
      expect(metricValue(after, replays)).toBe(metricValue(before, replays) + 1);
      expect(after).toMatch(/^job_queue_depth\{queue="async-fulfillment"\} \d+$/m);
      expect(after).toMatch(/^db_pool_connections\{state="idle"\} \d+$/m);
      expect(after).toMatch(/^db_pool_connections\{state="in_use"\} \d+$/m);
      expect(after).toMatch(/^db_pool_connections\{state="waiting"\} \d+$/m);
      // Label values come from code (registered intents), never from the request.
      expect(after).not.toContain('MadeUpIntent42');
      expect(after).not.toContain('NoSuchIntent');
    });

    it("counts a turn id reused for another request as a conflict, the sender's doing: not an error, no failed span", async () => {
      const conflict = 'fulfillment_requests_total{platform="dialogflow-es",intent="TransferFunds",outcome="conflict"}';
      const errors = 'fulfillment_errors_total{platform="dialogflow-es",intent="TransferFunds",outcome="error"}';
      const first = declinedTransfer();
      const reused = { ...first, queryResult: { ...(first.queryResult as object), queryText: 'something else' } };
      await request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).send(first).expect(200);
      const before = await scrape();
      const caller = traceparent();
      const refused = await request(t.baseUrl)
        .post(PATH)
        .set(LOCAL_DEV_AUTH)
        .set('traceparent', caller.header)
        .send(reused)
        .expect(422);
      expect(refused.body).toMatchObject({ error: 'IDEMPOTENCY_KEY_REUSED' });
      const after = await scrape();
      expect(metricValue(after, conflict)).toBe(metricValue(before, conflict) + 1);
      expect(metricValue(after, errors)).toBe(metricValue(before, errors));
      const spans = await spansOfTrace(caller.traceId, (found) => found.some((span) => span.kind === SpanKind.SERVER));
      const turn = spans.find((span) => span.name === 'turn TransferFunds');
      expect(turn?.attributes).toMatchObject({ 'fulfillment.outcome': 'conflict' });
      expect(turn?.status.code).not.toBe(SpanStatusCode.ERROR);
    });

    it("times a turn from its request's arrival: a body that comes 600 ms after the headers is in its duration", async () => {
      const sum =
        'fulfillment_request_duration_seconds_sum{platform="dialogflow-es",intent="GetAccountBalance",outcome="fulfilled"}';
      const before = metricValue(await scrape(), sum);
      const body = JSON.stringify(README_REQUEST);
      const { port } = new URL(t.baseUrl);
      const status = await new Promise<number>((resolve, reject) => {
        const sent = httpRequest({
          host: '127.0.0.1',
          port,
          path: PATH,
          method: 'POST',
          headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        });
        sent.on('response', (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        sent.on('error', reject);
        sent.flushHeaders();
        // 600 ms from the connection: the headers reach the server some time after it (a loaded CI machine took
        // 57 ms), and a clock started at the body would see a few milliseconds, nowhere near 0.4 s.
        sent.on('socket', (socket) => {
          const wait = () => setTimeout(() => sent.end(body), 600);
          if (socket.connecting) socket.once('connect', wait);
          else wait();
        });
      });
      expect(status).toBe(200);
      expect(metricValue(await scrape(), sum) - before).toBeGreaterThanOrEqual(0.4);
    });

    it('has the process and Node.js runtime, each platform deadline and the trace exporters failures', async () => {
      await request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).send(README_REQUEST).expect(200);
      // Garbage enough for a few minor collections to have been seen.
      for (let round = 0; round < 40; round += 1) new Array<number>(250_000).fill(round);
      const text = await scrape();
      for (const pattern of [
        /^# TYPE process_cpu_seconds_total counter$/m,
        /^process_cpu_seconds_total [\d.e+-]+$/m,
        /^process_resident_memory_bytes \d+$/m,
        /^process_open_fds \d+$/m,
        /^process_max_fds \d+$/m,
        /^process_start_time_seconds \d+$/m,
        /^nodejs_heap_space_used_bytes\{space="old_space"\} \d+$/m,
        /^nodejs_heap_space_size_bytes\{space="new_space"\} \d+$/m,
        /^nodejs_external_memory_bytes \d+$/m,
        /^# TYPE nodejs_gc_duration_seconds histogram$/m,
        /^nodejs_gc_duration_seconds_count\{kind="(minor|major|incremental|weakcb)"\} \d+$/m,
        /^event_loop_delay_seconds [\d.e+-]+$/m,
        /^event_loop_utilization_ratio [\d.e+-]+$/m,
        /^fulfillment_deadline_seconds\{platform="dialogflow-es"\} 4\.5$/m,
        /^fulfillment_deadline_seconds\{platform="lex-v2"\} 3\.5$/m,
        /^# TYPE trace_export_failures_total counter$/m,
        /^# TYPE log_lines_dropped_total counter$/m,
        /^log_lines_dropped_total 0$/m,
      ]) {
        expect(text).toMatch(pattern);
      }
      const rss = Number(/^process_resident_memory_bytes (\d+)$/m.exec(text)?.[1]);
      expect(rss).toBeGreaterThan(20 * 1024 * 1024);
      const started = Number(/^process_start_time_seconds (\d+)$/m.exec(text)?.[1]);
      expect(Math.abs(started - (Date.now() / 1000 - process.uptime()))).toBeLessThan(5);
    });

    it('is not served by the webhook listener', async () => {
      await request(t.baseUrl).get('/metrics').expect(404);
    });
  });

  describe('logs of the built service', () => {
    const TOKEN = `obs-secret-token-${randomBytes(8).toString('hex')}`;
    const WRONG_TOKEN = `obs-wrong-token-${randomBytes(8).toString('hex')}`;

    it('are JSON lines with the request id, trace ids and caller, and never a credential', async () => {
      const database = await createTestDatabase();
      const dir = mkdtempSync(join(tmpdir(), 'wf-obs-'));
      const callersFile = join(dir, 'callers.yaml');
      writeFileSync(
        callersFile,
        `callers:\n  - id: obs-caller\n    platforms: [dialogflow-es]\n    auth: { bearer: { tokens: [${TOKEN}] } }\n`,
      );
      const port = await freePort();
      const service = startService({
        DATABASE_URL: database.url,
        PORT: String(port),
        LOG_LEVEL: 'info',
        CALLERS_FILE: callersFile,
        OTEL_SDK_DISABLED: 'false',
      });
      try {
        await service.waitFor(/Listening on/);
        const caller = traceparent();
        const requestId = `obs-log-${randomBytes(4).toString('hex')}`;
        const post = (token: string, headers: Record<string, string> = {}) =>
          fetch(`http://127.0.0.1:${port}${PATH}`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
            body: JSON.stringify(README_REQUEST),
          });
        const ok = await post(TOKEN, { 'X-Request-Id': requestId, traceparent: caller.header });
        expect(ok.status).toBe(200);
        expect((await post(WRONG_TOKEN)).status).toBe(401);
        await service.waitFor(new RegExp(`"request_id":"${requestId}".*"msg":"POST ${PATH} 200"`), 10_000);
        await service.waitFor(/"status":401/, 10_000);

        const lines = service
          .output()
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        expect(lines.find((line) => /^Listening on http/.test(String(line.msg)))).toMatchObject({
          level: 'info',
          context: 'Main',
        });
        const access = lines.find((line) => line.request_id === requestId && line.status === 200);
        expect(access).toMatchObject({
          level: 'info',
          trace_id: caller.traceId,
          span_id: expect.stringMatching(/^[0-9a-f]{16}$/),
          caller_id: 'obs-caller',
          method: 'POST',
          path: PATH,
          msg: `POST ${PATH} 200`,
        });
        expect(access?.span_id).not.toBe(caller.parentId);
        expect(lines.find((line) => line.context === 'Audit')).toMatchObject({
          level: 'warn',
          msg: expect.stringMatching(/^authn_login_fail .*reason=unknown-token/),
          request_id: expect.any(String),
          trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
        });
        expect(service.output()).not.toContain(TOKEN);
        expect(service.output()).not.toContain(WRONG_TOKEN);
        expect(service.output()).not.toContain('What is my account balance');
      } finally {
        service.child.kill('SIGTERM');
        await service.exited;
        await database.drop();
      }
    });
  });
});

describe('throttled_requests_total', () => {
  let t: TestApp;
  let metricsUrl: string;

  beforeAll(async () => {
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    t = await startTestApp({
      env: {
        METRICS_ENABLED: 'true',
        METRICS_PORT: String(metricsPort),
        TRUSTED_PROXIES: '127.0.0.1/32',
        PREAUTH_LIMIT: '2',
        THROTTLE_LIMIT: '2',
      },
    });
  });
  afterAll(() => t?.close());

  const counted = async (limiter: string): Promise<number> =>
    metricValue(await (await fetch(metricsUrl)).text(), `throttled_requests_total{limiter="${limiter}"}`);
  const send = (from: string) =>
    request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).set('X-Forwarded-For', from).send(README_REQUEST);

  it('counts every refusal by its limiter, though the audit keeps one per address and window', async () => {
    // One address: two let through, five refused before authentication (loopback: the local development caller).
    const statuses = [];
    for (let i = 0; i < 7; i += 1) statuses.push((await send('127.0.0.7')).status);
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429, 429]);
    // A new address each time: the caller's own budget of two refuses the rest.
    const callerStatuses = [];
    for (let i = 0; i < 4; i += 1) callerStatuses.push((await send(`127.0.1.${i + 1}`)).status);
    expect(callerStatuses).toEqual([429, 429, 429, 429]);
    expect(await counted('preauth')).toBe(5);
    expect(await counted('caller')).toBe(4);
  });
});

describe('rate_limit_checks_skipped_total', () => {
  it('counts the rate-limit checks skipped while the store is unreachable: throttling off is visible, not calm', async () => {
    const metricsPort = await freePort();
    const t = await startTestApp({
      env: { METRICS_ENABLED: 'true', METRICS_PORT: String(metricsPort), REDIS_URL: 'redis://127.0.0.1:1' },
    });
    try {
      const skipped = async () =>
        metricValue(
          await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
          'rate_limit_checks_skipped_total',
        );
      const before = await skipped();
      for (let i = 0; i < 3; i += 1) {
        await request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).send(README_REQUEST).expect(200);
      }
      // Each turn has two checks, both skipped: its address's (before authentication) and its caller's.
      expect((await skipped()) - before).toBe(6);
    } finally {
      await t.close();
    }
  });
});
