import type { Request, Response } from 'express';
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { answerClientErrors } from '../common/http/client-errors';
import { accessLogger, httpAccessLog, logRefusedRequest, sampleProbe, writeAccessLine } from './access-log';
import { createRootLogger } from './logging';
import { capturedLog } from './testing/captured-log';

/** Every field an access line may have: it skips the redaction pass, so a new field needs a look. */
const ACCESS_LINE_FIELDS = new Set([
  'aborted',
  'bytes_in',
  'bytes_out',
  'caller_id',
  'client_address',
  'cut',
  'duration_ms',
  'grpc_status',
  'hostname',
  'level',
  'method',
  'msg',
  'parse_error',
  'path',
  'pid',
  'request_id',
  'route',
  'span_id',
  'status',
  'time',
  'trace_id',
]);

function exchange(url: string, headers: Record<string, string> = {}) {
  const req = Object.assign(new EventEmitter(), {
    method: 'POST',
    url: '/',
    originalUrl: url,
    headers: { authorization: 'Bearer s3cret', ...headers },
    requestId: 'req-1',
    clientAddress: '192.0.2.10',
  });
  const outHeaders: Record<string, string> = {};
  const res = Object.assign(new EventEmitter(), {
    statusCode: 200,
    writableFinished: true,
    getHeader: (name: string) => outHeaders[name.toLowerCase()],
    setHeader: (name: string, value: string) => (outHeaders[name.toLowerCase()] = value),
  });
  return { req, res, request: req as unknown as Request, response: res as unknown as Response };
}

describe('access log', () => {
  it('writes one line when the response ends: ids, route, status, bytes, caller; no headers, no query', () => {
    const out = capturedLog();
    const logger = accessLogger(createRootLogger('info', out.stream));
    const { req, res, request, response } = exchange('/v1/webhooks/generic?token=t', { 'content-length': '120' });
    const seen: string[] = [];
    httpAccessLog(logger, { probePercent: 0 })(request, response, () => seen.push('next'));
    Object.assign(req, { caller: { id: 'bot-1', platforms: [] }, route: { path: '/v1/webhooks/generic' } });
    res.setHeader('Content-Length', '345');
    res.emit('close');
    const [line, ...rest] = out.lines();
    expect(seen).toEqual(['next']);
    expect(rest).toEqual([]);
    expect(line).toMatchObject({
      level: 'info',
      msg: 'POST /v1/webhooks/generic 200',
      request_id: 'req-1',
      method: 'POST',
      path: '/v1/webhooks/generic',
      route: '/v1/webhooks/generic',
      status: 200,
      bytes_in: 120,
      bytes_out: 345,
      caller_id: 'bot-1',
      client_address: '192.0.2.10',
      duration_ms: expect.any(Number),
    });
    expect(JSON.stringify(line)).not.toMatch(/s3cret|token=/);
    for (const field of Object.keys(line)) expect(ACCESS_LINE_FIELDS).toContain(field);
  });

  it('counts the body it read over what the client declared', () => {
    const out = capturedLog();
    const logger = accessLogger(createRootLogger('info', out.stream));
    const { req, res, request, response } = exchange('/v1/webhooks/generic', { 'content-length': '999' });
    httpAccessLog(logger, { probePercent: 0 })(request, response, () => undefined);
    Object.assign(req, { rawBody: Buffer.from('{"a":1}') });
    res.emit('close');
    expect(out.lines()[0]).toMatchObject({ bytes_in: 7 });
  });

  it('logs 4xx and abandoned requests at warn, 5xx at error, probes only when sampled', () => {
    const out = capturedLog();
    const logger = accessLogger(createRootLogger('info', out.stream));
    const run = (url: string, statusCode: number, writableFinished = true, probePercent = 0) => {
      const { res, request, response } = exchange(url);
      Object.assign(res, { statusCode, writableFinished });
      httpAccessLog(logger, { probePercent })(request, response, () => undefined);
      res.emit('close');
    };
    run('/v1/webhooks/generic', 401);
    run('/v1/webhooks/generic', 503);
    run('/v1/webhooks/generic', 201, false);
    run('/health/ready', 200);
    run('/metrics', 200);
    run('/health/live', 200, true, 100);
    expect(out.lines().map((line) => [line.level, line.msg, line.status, line.aborted])).toEqual([
      ['warn', 'POST /v1/webhooks/generic 401', 401, undefined],
      ['error', 'POST /v1/webhooks/generic 503', 503, undefined],
      ['warn', 'POST /v1/webhooks/generic abandoned by the client', undefined, true],
      ['info', 'POST /health/live 200', 200, undefined],
    ]);
  });

  it('samples probes at the configured percent', () => {
    expect(sampleProbe(0)).toBe(false);
    expect(sampleProbe(100)).toBe(true);
    const sampled = Array.from({ length: 4000 }, () => sampleProbe(25)).filter(Boolean).length;
    expect(sampled).toBeGreaterThan(800);
    expect(sampled).toBeLessThan(1200);
  });

  it("writes a line for what Node's HTTP parser refused, with the peer and the parser's reason", () => {
    const out = capturedLog();
    const logger = accessLogger(createRootLogger('info', out.stream));
    logRefusedRequest(logger, { status: 431, code: 'HPE_HEADER_OVERFLOW', peer: '192.0.2.7' });
    expect(out.lines()).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: '- - 431',
        status: 431,
        client_address: '192.0.2.7',
        parse_error: 'HPE_HEADER_OVERFLOW',
      }),
    ]);
  });

  it('names a gRPC outcome by its status name, and honours the level', () => {
    const out = capturedLog();
    const logger = accessLogger(createRootLogger('warn', out.stream));
    const grpc = { method: 'GRPC', path: '/webhook.v1.FulfillmentService/Fulfill', durationMs: 1.234 };
    writeAccessLine(logger, { ...grpc, status: 0, grpcStatus: 'OK', level: 'info' });
    writeAccessLine(logger, { ...grpc, status: 16, grpcStatus: 'UNAUTHENTICATED', level: 'warn' });
    expect(out.lines()).toEqual([
      expect.objectContaining({
        msg: 'GRPC /webhook.v1.FulfillmentService/Fulfill UNAUTHENTICATED',
        status: 16,
        grpc_status: 'UNAUTHENTICATED',
        duration_ms: 1.2,
      }),
    ]);
  });
});

describe('access lines of requests the server cut (real sockets)', () => {
  const REQUEST_TIMEOUT_MS = 1000;
  const BODY_START = '{"a":';
  let server: Server;
  let port: number;
  let out: ReturnType<typeof capturedLog>;
  let read: string[];

  beforeEach(async () => {
    out = capturedLog();
    read = [];
    const logger = accessLogger(createRootLogger('info', out.stream));
    const log = httpAccessLog(logger, { probePercent: 0 });
    // Node's own checks of slow requests, every 50 ms instead of every 30 s.
    const timeouts = { requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS };
    server = createServer({ ...timeouts, connectionsCheckingInterval: 50 }, (req, res) => {
      const request = Object.assign(req, { originalUrl: req.url, requestId: req.headers['x-request-id'] });
      // Reads the body as the body reader does, and answers once all of it has come.
      log(request as unknown as Request, res as unknown as Response, () => {
        read.push(String(request.requestId));
        req.on('data', () => undefined);
        req.on('end', () => res.end('{}'));
      });
    });
    answerClientErrors(server, undefined, (answer) => logRefusedRequest(logger, answer));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function until(condition: () => boolean): Promise<void> {
    for (let waited = 0; !condition() && waited < 10_000; waited += 20) await pause(20);
  }

  /** Sends the headers and the start of a 50-byte body, then nothing more; resolves once the request was read. */
  async function slowUpload(requestId: string): Promise<Socket> {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume();
    socket.write(`POST /x?token=t HTTP/1.1\r\nHost: a\r\nX-Request-Id: ${requestId}\r\nContent-Length: 50\r\n\r\n`);
    socket.write(BODY_START);
    await until(() => read.includes(requestId));
    return socket;
  }

  /** The lines once `count` are written, and what came with them. */
  async function lines(count: number): Promise<Record<string, unknown>[]> {
    await until(() => out.lines().length >= count);
    await pause(100);
    return out.lines();
  }

  it('one line for a request whose body did not arrive in time: 408, timed out by the server, the bytes that came', async () => {
    const socket = await slowUpload('slow-body');
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await closed;
    expect(await lines(1)).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: 'POST /x 408 timed out by the server',
        request_id: 'slow-body',
        status: 408,
        cut: 'timeout',
        bytes_in: BODY_START.length,
      }),
    ]);
    expect(out.lines()[0]).not.toHaveProperty('aborted');
  });

  it('one line, abandoned by the client, for a client that ends its side in the middle of the body (no 400 of its own)', async () => {
    const socket = await slowUpload('ended-mid-body');
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.end();
    await closed;
    expect(await lines(1)).toEqual([
      expect.objectContaining({
        msg: 'POST /x abandoned by the client',
        request_id: 'ended-mid-body',
        aborted: true,
      }),
    ]);
  });

  it('still a line of its own for headers that did not arrive in time (no request was read)', async () => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume();
    socket.write('POST /x HTTP/1.1\r\nHost: a\r\n');
    await new Promise((resolve) => socket.once('close', resolve));
    expect(await lines(1)).toEqual([
      expect.objectContaining({ msg: '- - 408', status: 408, parse_error: 'ERR_HTTP_REQUEST_TIMEOUT' }),
    ]);
  });

  it('a request cut when the shutdown ends its connections: cut at shutdown, at error, with the bytes that came', async () => {
    const socket = await slowUpload('cut-at-shutdown');
    // What the shutdown does: stop listening, and at the end of the grace cut the connections still open.
    const closing = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closing;
    socket.destroy();
    expect(await lines(1)).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: 'POST /x cut at shutdown',
        request_id: 'cut-at-shutdown',
        cut: 'shutdown',
        bytes_in: BODY_START.length,
      }),
    ]);
    expect(out.lines()[0]).not.toHaveProperty('status');
    expect(out.lines()[0]).not.toHaveProperty('aborted');
  });

  it('a client that goes away (a reset) is still one that abandoned the request', async () => {
    const socket = await slowUpload('gone');
    socket.resetAndDestroy();
    expect(await lines(1)).toEqual([
      expect.objectContaining({ msg: 'POST /x abandoned by the client', aborted: true, bytes_in: BODY_START.length }),
    ]);
    expect(out.lines()[0]).not.toHaveProperty('cut');
  });
});
