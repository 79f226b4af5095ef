import { status } from '@grpc/grpc-js';
import { connect, type Socket } from 'node:net';
import { toStruct } from '../src/grpc/struct';
import { esRequest, LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { eventually } from './support/eventually';
import { grpcMetadata, grpcServices, openGrpcClient, rawUnary, unary } from './support/grpc-client';
import { rawH2cRequest } from './support/raw-h2c';
import { sendRaw } from './support/raw-http';
import { exitWithin, freePort, killService, ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, TestDatabase } from './support/test-database';

/**
 * The access log as an SRE reads it: the real process's stdout, one JSON line per HTTP request and gRPC call,
 * whatever answered it - the body reader's refusals, Node's parser, the docs, a guard, a handler.
 */

const ES = '/v1/webhooks/dialogflow-es';
const FULFILL = '/fulfillment.v1.FulfillmentService/Fulfill';
const HANDLE_WEBHOOK = '/fulfillment.v1.FulfillmentService/HandleWebhook';

type Line = Record<string, unknown>;

describe('access log (a real process, its stdout)', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let baseUrl: string;
  let grpcPort: number;

  const lines = (): Line[] =>
    service
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Line);
  /** The one access line with this request id, once written (lines are flushed every 200 ms). */
  const accessLine = (requestId: string): Promise<Line> =>
    eventually(
      () => {
        const found = lines().filter((line) => line.request_id === requestId && 'duration_ms' in line);
        expect(found).toHaveLength(1);
        return found[0];
      },
      10_000,
      50,
    );
  const post = (path: string, requestId: string, body: string, headers: Record<string, string> = {}) =>
    sendRaw(baseUrl, path, {
      headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json', 'X-Request-Id': requestId, ...headers },
      body,
    });

  beforeAll(async () => {
    database = await createTestDatabase();
    const port = await freePort();
    grpcPort = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    service = startService({
      NODE_ENV: 'development',
      DATABASE_URL: database.url,
      PORT: String(port),
      GRPC_ENABLED: 'true',
      GRPC_PORT: String(grpcPort),
      LOG_LEVEL: 'info',
      BODY_LIMIT_BYTES: '2048',
      ACCESS_LOG_PROBES_PERCENT: '100',
      // Low enough for the last test to reach within a few requests.
      PREAUTH_LIMIT: '40',
      // Tracing on without an exporter: spans exist, so lines carry trace ids.
      OTEL_SDK_DISABLED: 'false',
      OTEL_TRACES_EXPORTER: 'none',
    });
    await service.waitFor(/"msg":"Listening/);
  }, 90_000);

  afterAll(async () => {
    service?.child.kill('SIGKILL');
    await service?.exited;
    await database?.drop();
  });

  it('a turn: method, path, route, status, duration, bytes, caller, client address, request and trace ids', async () => {
    const body = JSON.stringify(esRequest('GetAccountBalance', { user_id: '12345', account_type: 'checking' }));
    const answer = await post(ES, 'access-ok', body);
    expect(answer.status).toBe(200);
    const line = await accessLine('access-ok');
    expect(line).toMatchObject({
      level: 'info',
      msg: `POST ${ES} 200`,
      method: 'POST',
      path: ES,
      route: ES,
      status: 200,
      bytes_in: Buffer.byteLength(body),
      bytes_out: Buffer.byteLength(answer.text),
      caller_id: 'local-dev',
      client_address: '127.0.0.1',
      trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(line.duration_ms).toEqual(expect.any(Number));
  });

  it.each([
    ['malformed JSON', 'access-400', '{"nope', {}, 400],
    ['a body over BODY_LIMIT_BYTES', 'access-413', JSON.stringify({ pad: 'x'.repeat(4096) }), {}, 413],
    ['a body that is not JSON', 'access-415', 'text', { 'Content-Type': 'text/plain' }, 415],
    ['an unknown token', 'access-401', '{}', { Authorization: 'Bearer not-a-known-token' }, 401],
  ])(
    'refused before a controller ran (%s): a warn line with its status',
    async (_name, requestId, body, headers, code) => {
      const answer = await post(ES, requestId, body, headers);
      expect(answer.status).toBe(code);
      expect(await accessLine(requestId)).toMatchObject({ level: 'warn', status: code, path: ES, method: 'POST' });
    },
  );

  it('the docs, the OpenAPI document, unknown paths and sampled probes get lines too', async () => {
    for (const [name, path, code] of [
      ['openapi', '/openapi.json', 200],
      ['docs', '/docs', 200],
      ['unknown', '/nowhere', 404],
      ['probe', '/health/live', 200],
    ] as const) {
      const answer = await sendRaw(baseUrl, path, { method: 'GET', headers: { 'X-Request-Id': `access-${name}` } });
      expect(answer.status).toBe(code);
      expect(await accessLine(`access-${name}`)).toMatchObject({ method: 'GET', path, status: code });
    }
  });

  it("a request Node's parser refuses (headers too large): a line with the peer and the parser's reason", async () => {
    const before = lines().filter((line) => line.parse_error === 'HPE_HEADER_OVERFLOW').length;
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(new URL(baseUrl).port), '127.0.0.1', () =>
        socket.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
      );
      socket.on('data', () => undefined);
      socket.once('close', () => resolve());
      socket.once('error', reject);
    });
    const refused = await eventually(
      () => {
        const found = lines().filter((line) => line.parse_error === 'HPE_HEADER_OVERFLOW');
        expect(found).toHaveLength(before + 1);
        return found[before];
      },
      10_000,
      50,
    );
    expect(refused).toMatchObject({ level: 'warn', status: 431, client_address: '127.0.0.1' });
  });

  it('gRPC calls: answered, refused by a guard, and a sampled health check', async () => {
    const client = openGrpcClient(grpcPort);
    const health = openGrpcClient(grpcPort, undefined, grpcServices.grpc.health.v1.Health);
    try {
      const request = {
        sessionId: 'access-grpc',
        intent: 'GetAccountBalance',
        requestId: 'access-grpc-turn',
        parameters: toStruct({ user_id: '12345', account_type: 'checking' }),
      };
      await unary(
        client,
        'Fulfill',
        request,
        grpcMetadata({ ...lower(LOCAL_DEV_AUTH), 'x-request-id': 'access-grpc-ok' }),
      );
      await expect(
        unary(client, 'Fulfill', request, grpcMetadata({ 'x-request-id': 'access-grpc-401' })),
      ).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
      await unary(health, 'Check', { service: '' }, grpcMetadata({ 'x-request-id': 'access-grpc-health' }));
      // A method no service has: grpc-js answers UNIMPLEMENTED before any interceptor runs.
      const unknown = await rawUnary(
        client,
        '/fulfillment.v1.FulfillmentService/NoSuchMethod',
        Buffer.alloc(0),
        grpcMetadata({ 'x-request-id': 'access-grpc-unknown' }),
      );
      expect(unknown?.code).toBe(status.UNIMPLEMENTED);
      // A FulfillRequest nested deeper than protobuf decoding takes (a raw client: grpc-js will not encode it).
      const undecodable = await rawUnary(
        client,
        FULFILL,
        tooDeepFulfillRequest(),
        grpcMetadata({ ...lower(LOCAL_DEV_AUTH), 'x-request-id': 'access-grpc-undecodable' }),
      );
      expect(undecodable).toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: 'The request is not a FulfillRequest that can be decoded: maximum nesting depth exceeded.',
      });
      const anonymous = await rawUnary(
        client,
        FULFILL,
        tooDeepFulfillRequest(),
        grpcMetadata({ 'x-request-id': 'access-grpc-undecodable-anonymous' }),
      );
      expect(anonymous?.code).toBe(status.UNAUTHENTICATED);
    } finally {
      client.close();
      health.close();
    }
    expect(await accessLine('access-grpc-ok')).toMatchObject({
      level: 'info',
      msg: `GRPC ${FULFILL} OK`,
      method: 'GRPC',
      path: FULFILL,
      status: 0,
      grpc_status: 'OK',
      caller_id: 'local-dev',
      client_address: '127.0.0.1',
      bytes_in: expect.any(Number),
      bytes_out: expect.any(Number),
      trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    const ok = await accessLine('access-grpc-ok');
    expect(ok.bytes_in).toBeGreaterThan(20);
    expect(ok.bytes_out).toBeGreaterThan(20);
    expect(await accessLine('access-grpc-401')).toMatchObject({
      level: 'warn',
      grpc_status: 'UNAUTHENTICATED',
      status: status.UNAUTHENTICATED,
    });
    expect(await accessLine('access-grpc-health')).toMatchObject({ path: '/grpc.health.v1.Health/Check', status: 0 });
    // Authenticated, then refused: not INTERNAL from grpc-js before any guard, logged as a client that went away.
    expect(await accessLine('access-grpc-undecodable')).toMatchObject({
      level: 'warn',
      grpc_status: 'INVALID_ARGUMENT',
      caller_id: 'local-dev',
      bytes_in: expect.any(Number),
    });
    expect(await accessLine('access-grpc-unknown')).toMatchObject({
      level: 'warn',
      path: '/fulfillment.v1.FulfillmentService/NoSuchMethod',
      grpc_status: 'UNIMPLEMENTED',
      client_address: '127.0.0.1',
    });
  });

  it('gRPC calls whose bytes do not decode: authenticated, then INVALID_ARGUMENT saying why, with a warn line', async () => {
    const client = openGrpcClient(grpcPort);
    const call = (path: string, bytes: Buffer, metadata: Record<string, string>) =>
      rawUnary(client, path, bytes, grpcMetadata(metadata));
    // Field 2 says 5 bytes follow, where 1 does (a truncated string field decodes: protobufjs shortens the string).
    const truncated = Buffer.from([0x12, 0x05, 0x7b]);
    try {
      expect(
        await call(HANDLE_WEBHOOK, truncated, {
          ...lower(LOCAL_DEV_AUTH),
          'x-request-id': 'access-grpc-webhook-bytes',
        }),
      ).toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: 'The request is not a HandleWebhookRequest that can be decoded: index out of range: 2 + 5 > 3.',
      });
      // No credentials: the caller learns nothing about its bytes.
      expect(
        await call(HANDLE_WEBHOOK, truncated, { 'x-request-id': 'access-grpc-webhook-bytes-anonymous' }),
      ).toMatchObject({ code: status.UNAUTHENTICATED });
      // The health service takes no credentials; its bytes are refused the same way.
      expect(
        await call('/grpc.health.v1.Health/Check', truncated, { 'x-request-id': 'access-grpc-health-bytes' }),
      ).toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: 'The request is not a HealthCheckRequest that can be decoded: index out of range: 2 + 5 > 3.',
      });
      const watch = client.makeServerStreamRequest(
        '/grpc.health.v1.Health/Watch',
        (value: Buffer) => value,
        (value: Buffer) => value,
        truncated,
        grpcMetadata({ 'x-request-id': 'access-grpc-watch-bytes' }),
      );
      watch.on('data', () => undefined);
      expect(await new Promise((resolve) => watch.once('error', resolve))).toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: 'The request is not a HealthCheckRequest that can be decoded: index out of range: 2 + 5 > 3.',
      });
      // Server reflection's stream (its handler is not ours) is refused before the handler, on either version.
      for (const version of ['v1', 'v1alpha']) {
        const reflection = client.makeBidiStreamRequest(
          `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
          (value: Buffer) => value,
          (value: Buffer) => value,
          grpcMetadata({ 'x-request-id': `access-grpc-reflection-bytes-${version}` }),
        );
        const replies: Buffer[] = [];
        reflection.on('data', (reply: Buffer) => replies.push(reply));
        reflection.write(truncated);
        expect(await new Promise((resolve) => reflection.once('error', resolve))).toMatchObject({
          code: status.INVALID_ARGUMENT,
          details: expect.stringMatching(/^The request is not a ServerReflectionRequest that can be decoded: /),
        });
        expect(replies).toEqual([]);
      }
    } finally {
      client.close();
    }
    for (const version of ['v1', 'v1alpha']) {
      expect(await accessLine(`access-grpc-reflection-bytes-${version}`)).toMatchObject({
        level: 'warn',
        path: `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
        grpc_status: 'INVALID_ARGUMENT',
      });
    }
    expect(await accessLine('access-grpc-webhook-bytes')).toMatchObject({
      level: 'warn',
      path: HANDLE_WEBHOOK,
      grpc_status: 'INVALID_ARGUMENT',
      caller_id: 'local-dev',
      bytes_in: expect.any(Number),
    });
    expect(await accessLine('access-grpc-webhook-bytes-anonymous')).toMatchObject({
      level: 'warn',
      grpc_status: 'UNAUTHENTICATED',
    });
    expect(await accessLine('access-grpc-health-bytes')).toMatchObject({
      level: 'warn',
      path: '/grpc.health.v1.Health/Check',
      grpc_status: 'INVALID_ARGUMENT',
    });
    // Refused as the client's fault: no error line with a stack for any of them.
    expect(lines().filter((line) => line.level === 'error' || line.level === 50)).toEqual([]);
  });

  it('gRPC statuses grpc-js sends by itself (a message over the size limit): the line has the status', async () => {
    const client = openGrpcClient(grpcPort);
    try {
      // Over BODY_LIMIT_BYTES plus the framing allowance: grpc-js refuses it before any interceptor sees a message.
      const oversize = await rawUnary(
        client,
        HANDLE_WEBHOOK,
        Buffer.alloc(64 * 1024),
        grpcMetadata({ ...lower(LOCAL_DEV_AUTH), 'x-request-id': 'access-grpc-oversize' }),
      );
      expect(oversize?.code).toBe(status.RESOURCE_EXHAUSTED);
    } finally {
      client.close();
    }
    const line = await accessLine('access-grpc-oversize');
    expect(line).toMatchObject({ level: 'warn', path: HANDLE_WEBHOOK, grpc_status: 'RESOURCE_EXHAUSTED' });
    expect(line).not.toHaveProperty('aborted');
  });

  it('gRPC headers metadata cannot hold (a tab in a credential): refused as such, and no value reaches the output', async () => {
    const call = (requestId: string, authorizations: readonly string[]) =>
      rawH2cRequest(
        grpcPort,
        [
          [':method', 'POST'],
          [':scheme', 'http'],
          [':path', FULFILL],
          [':authority', `127.0.0.1:${grpcPort}`],
          ['content-type', 'application/grpc'],
          ['te', 'trailers'],
          ['x-request-id', requestId],
          ...authorizations.map((value) => ['authorization', value] as const),
        ],
        Buffer.from([0, 0, 0, 0, 0]),
      );
    // grpc-js kept the first of the two and logged both raw on stderr: the call was authenticated by the first.
    await call('access-grpc-unreadable-repeat', [LOCAL_DEV_AUTH.Authorization, 'Bearer leaked-\tsecret-one']);
    await call('access-grpc-unreadable-one', ['Bearer leaked-\tsecret-two']);
    // Refused before anyone was authenticated: no caller on either line.
    const repeated = await accessLine('access-grpc-unreadable-repeat');
    expect(repeated).toMatchObject({ level: 'warn', grpc_status: 'INVALID_ARGUMENT' });
    expect(repeated.caller_id).toBeUndefined();
    const one = await accessLine('access-grpc-unreadable-one');
    expect(one).toMatchObject({ level: 'warn' });
    expect(one.caller_id).toBeUndefined();
    expect(service.output()).not.toContain('leaked-');
  });

  // Last: it spends what is left of this client address's pre-authentication allowance.
  it('refused by the pre-authentication limit, before the body is read: a warn line with 429', async () => {
    let refusedId: string | undefined;
    for (let attempt = 0; attempt < 60 && !refusedId; attempt += 1) {
      const requestId = `access-429-${attempt}`;
      if ((await post(ES, requestId, '{}', { Authorization: 'Bearer not-a-known-token' })).status === 429) {
        refusedId = requestId;
      }
    }
    expect(refusedId).toBeDefined();
    expect(await accessLine(refusedId!)).toMatchObject({ level: 'warn', status: 429, path: ES });
  });
});

/** Parsed JSON lines of a service's output. */
function outputLines(service: ServiceProcess): Line[] {
  return service
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Line);
}

/**
 * Sends a turn's headers and the first bytes of its body, then nothing more (a client on a stalled link), and
 * resolves with the open socket once the service has read the request: a request sent after it on another
 * connection has its access line.
 */
async function stalledUpload(
  service: ServiceProcess,
  baseUrl: string,
  requestId: string,
  bodyStart: string,
): Promise<Socket> {
  const socket = connect(Number(new URL(baseUrl).port), '127.0.0.1');
  socket.on('error', () => undefined);
  socket.resume();
  socket.write(
    `POST ${ES} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Request-Id: ${requestId}\r\n` +
      `Content-Length: 500\r\n\r\n${bodyStart}`,
  );
  const marker = `${requestId}-after`;
  await sendRaw(baseUrl, '/nowhere', { method: 'GET', headers: { 'X-Request-Id': marker } });
  await eventually(() => expect(outputLines(service).some((line) => line.request_id === marker)).toBe(true), 10_000);
  return socket;
}

describe('access log of requests the server cut (a real process, its stdout)', () => {
  const BODY_START = '{"responseId":';
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  }, 90_000);

  afterAll(async () => {
    await database?.drop();
  });

  /** The built service as a process of its own, logging at info, listening. */
  async function serviceLogging(env: Record<string, string>): Promise<{ service: ServiceProcess; baseUrl: string }> {
    const port = await freePort();
    const service = startService({ DATABASE_URL: database.url, PORT: String(port), LOG_LEVEL: 'info', ...env });
    try {
      await service.waitFor(/"msg":"Listening/);
    } catch (error: unknown) {
      await killService(service);
      throw error;
    }
    return { service, baseUrl: `http://127.0.0.1:${port}` };
  }

  it('a body that does not arrive within HTTP_REQUEST_TIMEOUT_MS: one line, 408 timed out by the server, the bytes that came', async () => {
    const { service, baseUrl } = await serviceLogging({
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '1000',
    });
    try {
      const socket = await stalledUpload(service, baseUrl, 'access-timed-out', BODY_START);
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      // Node looks for requests past their time every connectionsCheckingInterval: 250 ms here (a quarter of the
      // 1 s limit), 30 s by Node's default.
      await new Promise((resolve) => socket.once('close', resolve));
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      const line = await eventually(() => {
        const found = outputLines(service).filter((candidate) => candidate.request_id === 'access-timed-out');
        expect(found).toHaveLength(1);
        return found[0];
      });
      expect(line).toMatchObject({
        level: 'warn',
        msg: `POST ${ES} 408 timed out by the server`,
        method: 'POST',
        path: ES,
        status: 408,
        cut: 'timeout',
        bytes_in: BODY_START.length,
        client_address: '127.0.0.1',
      });
      expect(line).not.toHaveProperty('aborted');
      // No second line for the same 408 without a method, path or request id.
      expect(outputLines(service).filter((candidate) => candidate.msg === '- - 408')).toEqual([]);
    } finally {
      await killService(service);
    }
  }, 90_000);

  it('a request still running when the shutdown grace ends: cut at shutdown, not abandoned by the client', async () => {
    const { service, baseUrl } = await serviceLogging({
      SHUTDOWN_DELAY_MS: '0',
      SHUTDOWN_GRACE_MS: '4000',
      HTTP_REQUEST_TIMEOUT_MS: '120000',
    });
    try {
      const socket = await stalledUpload(service, baseUrl, 'access-cut-at-shutdown', BODY_START);
      const cut = new Promise((resolve) => socket.once('close', resolve));
      service.child.kill('SIGTERM');
      await cut;
      await exitWithin(service.exited, 30_000);
      const found = outputLines(service).filter((candidate) => candidate.request_id === 'access-cut-at-shutdown');
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({
        level: 'error',
        msg: `POST ${ES} cut at shutdown`,
        method: 'POST',
        path: ES,
        cut: 'shutdown',
        bytes_in: BODY_START.length,
      });
      expect(found[0]).not.toHaveProperty('aborted');
      expect(found[0]).not.toHaveProperty('status');
    } finally {
      await killService(service);
    }
  }, 90_000);

  it('a gRPC call still open when the shutdown grace ends: cut at shutdown, not abandoned by the client', async () => {
    const grpcPort = await freePort();
    const { service, baseUrl } = await serviceLogging({
      GRPC_ENABLED: 'true',
      GRPC_PORT: String(grpcPort),
      SHUTDOWN_DELAY_MS: '0',
      SHUTDOWN_GRACE_MS: '3000',
      HTTP_REQUEST_TIMEOUT_MS: '120000',
    });
    const client = openGrpcClient(grpcPort);
    try {
      // A reflection stream the client keeps open: it ends only when the shutdown cuts it.
      const stream = client.makeBidiStreamRequest(
        '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
        (value: Buffer) => value,
        (value: Buffer) => value,
        grpcMetadata({ 'x-request-id': 'access-grpc-cut-at-shutdown' }),
      );
      stream.on('data', () => undefined);
      const ended = new Promise((resolve) => stream.once('error', resolve));
      await eventually(async () => expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200));
      await new Promise((resolve) => setTimeout(resolve, 200));
      service.child.kill('SIGTERM');
      await ended;
      await exitWithin(service.exited, 30_000);
      const found = outputLines(service).filter((line) => line.request_id === 'access-grpc-cut-at-shutdown');
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({
        level: 'error',
        msg: 'GRPC /grpc.reflection.v1.ServerReflection/ServerReflectionInfo cut at shutdown',
        cut: 'shutdown',
        // Told UNAVAILABLE (clients retry it elsewhere) before its connection went.
        grpc_status: 'UNAVAILABLE',
      });
      expect(found[0]).not.toHaveProperty('aborted');
    } finally {
      client.close();
      await killService(service);
    }
  }, 90_000);
});

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/** A FulfillRequest whose parameters nest lists 150 deep: more than protobuf decoding takes (about 100 messages). */
function tooDeepFulfillRequest(): Buffer {
  const varint = (value: number): Buffer => {
    const bytes: number[] = [];
    for (let rest = value; ; rest = Math.floor(rest / 128)) {
      if (rest < 128) {
        bytes.push(rest);
        return Buffer.from(bytes);
      }
      bytes.push((rest % 128) | 128);
    }
  };
  const field = (number: number, bytes: Buffer | string): Buffer => {
    const body = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    return Buffer.concat([varint(number * 8 + 2), varint(body.length), body]);
  };
  let value = field(3, 'x');
  for (let level = 0; level < 150; level += 1) value = field(6, field(1, value));
  const parameters = field(1, Buffer.concat([field(1, 'a'), field(2, value)]));
  return Buffer.concat([field(2, 'access-grpc'), field(3, 'GetAccountBalance'), field(4, parameters)]);
}
