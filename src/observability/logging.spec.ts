import { context, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { Request, Response } from 'express';
import { capturedLog } from './testing/captured-log';
import { contextFields, createRootLogger, requestLogContext } from './logging';
import { setTracingRunning } from './telemetry';

const SPAN = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
};

describe('logging', () => {
  const manager = new AsyncLocalStorageContextManager();
  // As tracing.ts leaves things when the SDK runs: the context manager in place and the flag set.
  beforeAll(() => {
    context.setGlobalContextManager(manager.enable());
    setTracingRunning(true);
  });
  afterAll(() => {
    setTracingRunning(false);
    context.disable();
  });

  it('writes JSON lines with level names, ISO time and the active span ids', () => {
    const out = capturedLog();
    const logger = createRootLogger('info', out.stream);
    logger.info('outside');
    context.with(trace.setSpanContext(context.active(), SPAN), () => logger.warn({ context: 'Main' }, 'inside'));
    logger.debug('below the level');
    const [outside, inside, ...rest] = out.lines();
    expect(rest).toEqual([]);
    expect(outside).toMatchObject({ level: 'info', msg: 'outside' });
    expect(outside).not.toHaveProperty('trace_id');
    expect(String(outside.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(inside).toMatchObject({
      level: 'warn',
      msg: 'inside',
      context: 'Main',
      trace_id: SPAN.traceId,
      span_id: SPAN.spanId,
    });
  });

  it('censors credentials and bodies wherever a logged object carries them', () => {
    const out = capturedLog();
    const logger = createRootLogger('info', out.stream);
    logger.error(
      {
        req: { headers: { authorization: 'Bearer s3cret', cookie: 'sid=1', 'webhook-signature': 'v1,abc', host: 'h' } },
        err: { headers: { authorization: 'Basic dXNlcjpwdw==' }, body: '{"pin":"1234"}' },
        token: 'tok',
        password: 'pw',
      },
      'failed',
    );
    const [line] = out.lines();
    const text = JSON.stringify(line);
    for (const secret of ['s3cret', 'sid=1', 'v1,abc', 'dXNlcjpwdw', '"pin"', '"tok"', '"pw"']) {
      expect(text).not.toContain(secret);
    }
    expect(line).toMatchObject({ req: { headers: { authorization: '[REDACTED]', host: 'h' } }, token: '[REDACTED]' });
  });

  it("'fatal' silences everything else", () => {
    const out = capturedLog();
    const logger = createRootLogger('fatal', out.stream);
    logger.error('nope');
    logger.info('nope');
    expect(out.lines()).toEqual([]);
  });

  it('has no context fields outside a request and a trace', () => {
    expect(contextFields()).toEqual({});
  });

  it('puts the request id (and the caller, once known) on lines logged while handling a request', () => {
    const out = capturedLog();
    const logger = createRootLogger('info', out.stream);
    const req = { requestId: 'req-1' } as unknown as Request & { caller?: unknown };
    requestLogContext(req, {} as Response, () => {
      logger.info('before auth');
      req.caller = { id: 'bot-1', platforms: [] };
      logger.info('after auth');
    });
    logger.info('after the request');
    const [before, after, outside] = out.lines();
    expect(before).toMatchObject({ msg: 'before auth', request_id: 'req-1' });
    expect(before).not.toHaveProperty('caller_id');
    expect(after).toMatchObject({ msg: 'after auth', request_id: 'req-1', caller_id: 'bot-1' });
    expect(outside).not.toHaveProperty('request_id');
  });

  it('while tracing is off, runs the request on without a context (its id is on the access line only)', () => {
    setTracingRunning(false);
    try {
      const out = capturedLog();
      const logger = createRootLogger('info', out.stream);
      let ran = false;
      requestLogContext({ requestId: 'req-2' } as unknown as Request, {} as Response, () => {
        ran = true;
        logger.info('inside');
      });
      expect(ran).toBe(true);
      expect(out.lines()[0]).not.toHaveProperty('request_id');
    } finally {
      setTracingRunning(true);
    }
  });
});
