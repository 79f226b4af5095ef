import { Agent, request as httpRequest } from 'node:http';
import { AuditLog } from '../src/audit/audit-log';
import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { toStruct } from '../src/grpc/struct';
import { assertUrlAllowed } from '../src/outbound';
import { auditRows, type AuditRow, waitForAuditRow } from './support/audit-events';
import { eventually } from './support/eventually';
import { grpcFailure, grpcMetadata, openGrpcClient, unary } from './support/grpc-client';
import { sendRaw } from './support/raw-http';
import { freePort } from './support/service-process';
import { startTestApp, type TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

const ROUTE = '/v1/webhooks/generic';
const SECRET = 'Bearer s3cret-token-never-audited';

/** One POST from a chosen local address (127.0.0.0/8 is all loopback), on a shared keep-alive agent. */
function post(
  baseUrl: string,
  body: string,
  options: { agent?: Agent; localAddress?: string; headers?: Record<string, string> } = {},
): Promise<number> {
  const url = new URL(ROUTE, baseUrl);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        hostname: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent: options.agent ?? false,
        localAddress: options.localAddress,
        headers: { 'content-type': 'application/json', ...options.headers },
      },
      (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.once('error', reject);
    request.end(body);
  });
}

/** A state-changing generic turn: a reused key with another body is refused, not run again. */
const transfer = (sessionId: string, amount: number) => ({
  sessionId,
  intent: 'TransferFunds',
  stage: 'fulfillment',
  confirmation: 'confirmed',
  parameters: { user_id: '12345', from_account: 'checking', to_account: 'savings', amount },
});

const byRequest = (requestId: string) => (row: AuditRow) => row.request_id === requestId;

describe('refusals in the audit trail (issue 18 part 9)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ env: { PREAUTH_LIMIT: '0', BODY_LIMIT_BYTES: '1024', GRPC_ENABLED: 'true' } });
  });

  afterAll(async () => {
    await app?.close();
  });

  /** What the server answers to `text` written on a fresh connection, read until it closes. */
  const exchange = (text: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(app.baseUrl).port), '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.once('error', reject);
      socket.once('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.write(text);
    });

  /** The error a typed gRPC Fulfill call fails with, on a client of its own. */
  const fulfilRefusal = async (request: object, metadata: Record<string, string>, options = {}) => {
    const client = openGrpcClient(app.grpcPort ?? 0, undefined, undefined, options);
    try {
      return await grpcFailure(unary(client, 'Fulfill', request, grpcMetadata(metadata)));
    } finally {
      client.close();
    }
  };

  it('400 malformed JSON: input_validation_fail with request id, client address, route and reason; no body or token', async () => {
    const response = await sendRaw(app.baseUrl, `${ROUTE}?token=query-secret`, {
      headers: { 'content-type': 'application/json', 'x-request-id': 'audit-400-json', authorization: SECRET },
      body: '{"secret-body": ',
    });
    expect(response.status).toBe(400);
    const row = await waitForAuditRow(app.database.url, byRequest('audit-400-json'));
    expect(row).toMatchObject({
      event: 'input_validation_fail',
      outcome: 'failure',
      reason: 'malformed_json',
      remote_address: '127.0.0.1',
      route: `POST ${ROUTE}`,
      caller_id: 'unknown',
    });
    expect(JSON.stringify(row)).not.toMatch(/s3cret|secret-body|query-secret/);
  });

  it("a body Rasa's adapter answers in its own error format is audited too", async () => {
    const response = await sendRaw(app.baseUrl, '/v1/webhooks/rasa', {
      headers: {
        'content-type': 'application/json',
        'x-request-id': 'audit-400-rasa',
        authorization: 'Bearer local-dev-token',
      },
      body: JSON.stringify({ next_action: 'action_get_account_balance', tracker: { sender_id: 5 } }),
    });
    expect(response.status).toBe(400);
    const row = await waitForAuditRow(app.database.url, byRequest('audit-400-rasa'));
    expect(row).toMatchObject({ event: 'input_validation_fail', reason: 'validation_failed', caller_id: 'local-dev' });
  });

  it('405, 413 and 415 are audited as input_validation_fail with their reason', async () => {
    const cases = [
      { id: 'audit-405', method: 'GET', headers: {}, body: undefined, status: 405, reason: 'method_not_allowed' },
      {
        id: 'audit-413',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"a":"${'x'.repeat(4096)}"}`,
        status: 413,
        reason: 'payload_too_large',
      },
      {
        id: 'audit-415',
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'hello',
        status: 415,
        reason: 'unsupported_media_type',
      },
    ];
    for (const sent of cases) {
      const response = await sendRaw(app.baseUrl, ROUTE, {
        method: sent.method,
        headers: { ...sent.headers, 'x-request-id': sent.id },
        body: sent.body,
      });
      expect(response.status).toBe(sent.status);
      const row = await waitForAuditRow(app.database.url, byRequest(sent.id));
      expect(row).toMatchObject({ event: 'input_validation_fail', reason: sent.reason, remote_address: '127.0.0.1' });
      expect(row.route).toBe(`${sent.method} ${ROUTE}`);
    }
  });

  it('431 (headers too large, refused by Node before any app code): a JSON answer and an audit row', async () => {
    const answer = await exchange(`GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(answer).toContain('"statusCode":431');
    const row = await waitForAuditRow(app.database.url, (candidate) => candidate.reason === 'headers_too_large');
    expect(row).toMatchObject({
      event: 'input_validation_fail',
      remote_address: '127.0.0.1',
      detail: 'HPE_HEADER_OVERFLOW',
    });
  });

  it('an HTTP/1.1 request without Host: a JSON 400 (Node would answer a bare one) and an audit row', async () => {
    const answer = await exchange(`POST ${ROUTE} HTTP/1.1\r\nX-Request-Id: audit-no-host\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('"error":"MALFORMED_REQUEST"');
    expect(answer).toContain('An HTTP/1.1 request must have a Host header.');
    expect(await waitForAuditRow(app.database.url, byRequest('audit-no-host'))).toMatchObject({
      event: 'input_validation_fail',
      route: `POST ${ROUTE}`,
    });
  });

  it('a gRPC message over the size limit (refused by grpc-js itself) is audited like a 413', async () => {
    expect(
      (
        await fulfilRefusal(
          { sessionId: 's', intent: 'GetAccountBalance', text: 'x'.repeat(200_000) },
          { authorization: 'Bearer local-dev-token', 'x-request-id': 'audit-grpc-large' },
        )
      ).code,
    ).toBe(status.RESOURCE_EXHAUSTED);
    expect(await waitForAuditRow(app.database.url, byRequest('audit-grpc-large'))).toMatchObject({
      event: 'input_validation_fail',
      reason: 'payload_too_large',
      route: '/fulfillment.v1.FulfillmentService/Fulfill',
      remote_address: '127.0.0.1',
    });
  });

  it('a gzip gRPC message that decompresses over the size limit is audited like a 413 too', async () => {
    const refused = await fulfilRefusal(
      { sessionId: 's', intent: 'GetAccountBalance', text: 'x'.repeat(200_000) },
      { authorization: 'Bearer local-dev-token', 'x-request-id': 'audit-grpc-gzip' },
      { 'grpc.default_compression_algorithm': 2 },
    );
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.details).toMatch(/decompresses/);
    expect(await waitForAuditRow(app.database.url, byRequest('audit-grpc-gzip'))).toMatchObject({
      event: 'input_validation_fail',
      reason: 'payload_too_large',
      route: '/fulfillment.v1.FulfillmentService/Fulfill',
    });
  });

  it('a malformed webhook-id (400) is audited once, by the authenticator, with its reason', async () => {
    const response = await sendRaw(app.baseUrl, ROUTE, {
      headers: {
        'content-type': 'application/json',
        'x-request-id': 'audit-webhook-id',
        'webhook-id': 'not a message id',
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': 'v1,AAAA',
      },
      body: '{}',
    });
    expect(response.status).toBe(400);
    const row = await waitForAuditRow(app.database.url, byRequest('audit-webhook-id'));
    expect(row).toMatchObject({
      event: 'input_validation_fail',
      reason: 'malformed-webhook-id',
      method: 'standardWebhooks',
      route: `POST ${ROUTE}`,
    });
    await app.app.get(AuditLog).flush();
    expect((await auditRows(app.database.url)).filter(byRequest('audit-webhook-id'))).toHaveLength(1);
  });

  it('authentication failures carry the route too, over HTTP (no query string) and gRPC', async () => {
    const response = await sendRaw(app.baseUrl, `${ROUTE}?secret=not-in-the-row`, {
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer wrong-token-0123456789abcdef',
        'x-request-id': 'audit-401',
      },
      body: '{}',
    });
    expect(response.status).toBe(401);
    expect(await waitForAuditRow(app.database.url, byRequest('audit-401'))).toMatchObject({
      event: 'authn_login_fail',
      route: `POST ${ROUTE}`,
    });
    expect(
      (
        await fulfilRefusal(
          { sessionId: 's', intent: 'GetAccountBalance' },
          { authorization: 'Bearer wrong-token-0123456789abcdef', 'x-request-id': 'audit-401-grpc' },
        )
      ).code,
    ).toBe(status.UNAUTHENTICATED);
    expect(await waitForAuditRow(app.database.url, byRequest('audit-401-grpc'))).toMatchObject({
      event: 'authn_login_fail',
      route: '/fulfillment.v1.FulfillmentService/Fulfill',
    });
  });

  it('an Idempotency-Key reused with another body (422) is audited as sequence_fail with the caller and route', async () => {
    const key = `audit-reuse-${randomUUID()}`;
    const send = (amount: number, requestId: string) =>
      sendRaw(app.baseUrl, ROUTE, {
        headers: {
          'content-type': 'application/json',
          authorization: 'Bearer local-dev-token',
          'idempotency-key': key,
          'x-request-id': requestId,
        },
        body: JSON.stringify(transfer('audit-reuse', amount)),
      });
    expect((await send(1, 'audit-reuse-first')).status).toBe(200);
    const reused = await send(2, 'audit-reuse-second');
    expect(reused.status).toBe(422);
    expect(reused.json()).toMatchObject({ error: 'IDEMPOTENCY_KEY_REUSED' });
    const row = await waitForAuditRow(app.database.url, byRequest('audit-reuse-second'));
    expect(row).toMatchObject({
      event: 'sequence_fail',
      reason: 'idempotency_key_reused',
      caller_id: 'local-dev',
      route: `POST ${ROUTE}`,
      remote_address: '127.0.0.1',
    });
    expect((await auditRows(app.database.url)).filter(byRequest('audit-reuse-first'))).toHaveLength(0);
  });

  it('gRPC refusals are audited like HTTP ones, with the method as the route', async () => {
    const client = openGrpcClient(app.grpcPort ?? 0);
    const call = (requestId: string, request: object) =>
      grpcFailure(
        unary(
          client,
          'Fulfill',
          request,
          grpcMetadata({ authorization: 'Bearer local-dev-token', 'x-request-id': requestId }),
        ),
      );
    const grpcTransfer = (amount: number) => {
      const { parameters, ...rest } = transfer('audit-grpc', amount);
      return {
        ...rest,
        requestId: 'audit-grpc-turn',
        stage: 'STAGE_FULFILLMENT',
        confirmation: 'CONFIRMATION_CONFIRMED',
        parameters: toStruct(parameters),
      };
    };
    try {
      expect(
        (await call('audit-grpc-invalid', { sessionId: 'audit-grpc', intent: 'GetAccountBalance', stage: 7 })).code,
      ).toBe(status.INVALID_ARGUMENT);
      await unary(client, 'Fulfill', grpcTransfer(1), grpcMetadata({ authorization: 'Bearer local-dev-token' }));
      expect((await call('audit-grpc-reused', grpcTransfer(2))).code).toBe(status.FAILED_PRECONDITION);
    } finally {
      client.close();
    }
    const method = '/fulfillment.v1.FulfillmentService/Fulfill';
    expect(await waitForAuditRow(app.database.url, byRequest('audit-grpc-invalid'))).toMatchObject({
      event: 'input_validation_fail',
      reason: 'validation_failed',
      route: method,
      caller_id: 'local-dev',
      remote_address: '127.0.0.1',
    });
    expect(await waitForAuditRow(app.database.url, byRequest('audit-grpc-reused'))).toMatchObject({
      event: 'sequence_fail',
      reason: 'idempotency_key_reused',
      route: method,
      caller_id: 'local-dev',
    });
  });

  it('an SSRF block is audited as malicious_ssrf with the host, never the path or query', async () => {
    expect(() => assertUrlAllowed('https://10.1.2.3/hook?token=ssrf-secret', false)).toThrow();
    const row = await waitForAuditRow(app.database.url, (candidate) => candidate.event === 'malicious_ssrf');
    expect(row).toMatchObject({ reason: 'forbidden-address', outcome: 'failure' });
    expect(row.detail).toContain('10.1.2.3');
    expect(JSON.stringify(row)).not.toMatch(/ssrf-secret|\/hook/);
  });
});

describe('audit budget per source (AUDIT_MAX_PER_SOURCE per AUDIT_WINDOW_SECONDS)', () => {
  const MAX = 20;
  const WINDOW_SECONDS = 5;
  let app: TestApp;
  let metricsUrl: string;

  beforeAll(async () => {
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    app = await startTestApp({
      env: {
        PREAUTH_LIMIT: '0',
        AUDIT_MAX_PER_SOURCE: String(MAX),
        AUDIT_WINDOW_SECONDS: String(WINDOW_SECONDS),
        METRICS_ENABLED: 'true',
        METRICS_PORT: String(metricsPort),
      },
    });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('a flood of 1,000 malformed requests from one source writes at most the budget; the rest are counted', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const started = Date.now();
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < 1000) {
          next++;
          statuses.push(await post(app.baseUrl, '{"broken": ', { agent }));
        }
      }),
    );
    const elapsedMs = Date.now() - started;
    agent.destroy();
    expect(statuses).toHaveLength(1000);
    expect(statuses.every((status) => status === 400)).toBe(true);

    // Another source is still audited while the first is over its budget.
    expect(await post(app.baseUrl, '{"broken": ', { localAddress: '127.0.0.2' })).toBe(400);
    await waitForAuditRow(app.database.url, (row) => row.remote_address === '127.0.0.2');

    const metric = await (await fetch(metricsUrl)).text();
    const droppedMetric = Number(
      /audit_events_dropped_total\{event="input_validation_fail"\} (\d+)/.exec(metric)?.[1] ?? 'NaN',
    );

    // As each window closes, a summary row per event carries its dropped count. A flood slow enough to span several
    // windows has a summary per window: the last comes once its window has closed.
    const rowsOfTheFlood = async () => {
      const rows = (await auditRows(app.database.url)).filter((row) => row.remote_address === '127.0.0.1');
      const summaries = rows.filter((row) => row.reason === 'audit-suppressed');
      return {
        written: rows.filter((row) => row.reason !== 'audit-suppressed'),
        summaries,
        droppedInRows: summaries.reduce((sum, row) => sum + Number(row.dropped), 0),
      };
    };
    await eventually(
      async () => {
        const { written, droppedInRows } = await rowsOfTheFlood();
        expect(droppedInRows).toBe(1000 - written.length);
      },
      (WINDOW_SECONDS + 3) * 1000,
    );
    const { written, summaries } = await rowsOfTheFlood();
    const windows = Math.floor(elapsedMs / (WINDOW_SECONDS * 1000)) + 1;
    expect(written.length).toBeGreaterThan(0);
    expect(written.length).toBeLessThanOrEqual(MAX * windows);
    expect(droppedMetric).toBe(1000 - written.length);
    expect(summaries.length).toBeLessThanOrEqual(windows);
    expect(summaries.every((row) => row.event === 'input_validation_fail')).toBe(true);
  }, 60_000);

  it('an audit table that cannot be written does not change or delay the refusal', async () => {
    await queryTestDatabase(app.database.url, 'ALTER TABLE audit_events RENAME TO audit_events_away');
    try {
      const started = Date.now();
      expect(await post(app.baseUrl, '{"broken": ', { localAddress: '127.0.0.3' })).toBe(400);
      expect(Date.now() - started).toBeLessThan(1000);
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(await post(app.baseUrl, '{"broken": ', { localAddress: '127.0.0.3' })).toBe(400);
    } finally {
      await queryTestDatabase(app.database.url, 'ALTER TABLE audit_events_away RENAME TO audit_events');
    }
    // The queued rows are kept and written once the table is back.
    await waitForAuditRow(app.database.url, (row) => row.remote_address === '127.0.0.3', 5000);
  });
});
