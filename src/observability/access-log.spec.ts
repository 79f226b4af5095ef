import type { Request, Response } from 'express';
import { EventEmitter } from 'node:events';
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
