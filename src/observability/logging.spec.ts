import { context, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { Request, Response } from 'express';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { capturedLog } from './testing/captured-log';
import {
  contextFields,
  createRootLogger,
  droppedLogLines,
  flushLogDestination,
  isoTimeField,
  logDestination,
  requestLogContext,
} from './logging';
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

  it("writes the time as pino's isoTime does, to the millisecond, whatever the order of the clock's readings", () => {
    const start = Date.UTC(2026, 11, 31, 23, 59, 58, 990);
    const readings = [0, 9, 10, 99, 100, 999, 1000, 1001, 1010, 2009, 2010, 1500, 5, 86_400_000 + 7, 365 * 86_400_000];
    for (const offset of readings) {
      const now = start + offset;
      expect(isoTimeField(now)).toBe(`,"time":"${new Date(now).toISOString()}"`);
    }
    expect(isoTimeField()).toMatch(/^,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$/);
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

describe('the log destination before an exit (real pipes and files)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'log-destination-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A named pipe; the caller opens its ends. */
  function fifo(): string {
    const path = join(dir, 'out');
    execFileSync('mkfifo', [path]);
    return path;
  }

  /** Writes to a pipe until it takes no more. */
  function fill(fd: number): void {
    const chunk = Buffer.alloc(4096, 'x');
    try {
      for (;;) writeSync(fd, chunk);
    } catch (error: unknown) {
      expect((error as NodeJS.ErrnoException).code).toBe('EAGAIN');
    }
  }

  /** Reads the pipe until the destination has written what it kept and closed it. */
  async function drainAndClose(destination: ReturnType<typeof logDestination>, fd: number): Promise<void> {
    let closed = false;
    destination.once('close', () => (closed = true));
    destination.end();
    const chunk = Buffer.alloc(65_536);
    for (let round = 0; round < 500 && !closed; round += 1) {
      try {
        while (readSync(fd, chunk) > 0);
      } catch {
        // EAGAIN: empty for now.
      }
      await sleep(20);
    }
    expect(closed).toBe(true);
  }

  /** The library's own synchronous flush, as every destination it makes has it. */
  function libraryFlushSync(): unknown {
    const plain = pino.destination({ dest: '/dev/null', sync: true });
    const flushSync = plain.flushSync;
    plain.destroy();
    return flushSync;
  }

  function jsonLines(path: string): string[] {
    return readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
  }

  it('keeps at most its backlog limit for a reader that stopped, drops and counts the rest, and gives up at exit', async () => {
    // Both ends in one descriptor, never read, and filled: every write is refused (EAGAIN).
    const fd = openSync(fifo(), constants.O_RDWR | constants.O_NONBLOCK);
    fill(fd);
    const limit = 32 * 1024;
    const destination = logDestination(fd, limit);
    const logger = createRootLogger('info', destination);
    const before = droppedLogLines();
    const message = 'x'.repeat(100);
    const lineLength = JSON.stringify({ level: 'info', time: new Date().toISOString() }).length; // lower bound
    const count = 2_000;
    // Written in one go: nothing the kernel takes is handed back before the loop ends, so the backlog fills.
    for (let n = 0; n < count; n += 1) logger.info(message);
    const dropped = droppedLogLines() - before;
    expect(dropped).toBeGreaterThan(count - limit / (lineLength + message.length));
    expect(dropped).toBeLessThan(count);

    // The pipe stays full: the flush gives the rest up, and a fatal line (which makes pino flush synchronously)
    // returns. Checked before it is called: the library's own flush would retry here until the worker is killed.
    expect(await flushLogDestination(destination, 300)).toBe(false);
    expect(destination.flushSync).not.toBe(libraryFlushSync());
    logger.fatal('the last line');

    await drainAndClose(destination, fd);
  });

  it('once the reader is gone, a flush settles at once and the exit has nothing to wait for', async () => {
    const path = fifo();
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    closeSync(reader);
    const destination = logDestination(fd);
    const logger = createRootLogger('info', destination);
    // Buffered (under 4 KB): the first write is the flush's, and it meets the closed pipe (EPIPE).
    logger.info('the last line');
    expect(await flushLogDestination(destination, 10_000)).toBe(false);
    // Left as it was, the library's exit flush retried EPIPE forever.
    expect(destination.flushSync).not.toBe(libraryFlushSync());
    destination.flushSync();
    // The lines logged from now on go nowhere, and are counted (pino discarded them uncounted).
    const before = droppedLogLines();
    for (let n = 0; n < 5; n += 1) logger.info(`after the reader left ${n}`);
    expect(droppedLogLines() - before).toBe(5);
    // pino has made end() and destroy() do nothing on this stream; the class's own destroy still closes it.
    (Object.getPrototypeOf(destination) as { destroy(this: unknown): void }).destroy.call(destination);
  });

  it('a full disk (/dev/full): lines wait within the limit and the rest are dropped and counted; nothing stops', async () => {
    // Every write fails with ENOSPC. Left to pino, the first failure was thrown from the write's callback (here:
    // an uncaught error failing this test), and a fatal line then retried the write forever.
    const fd = openSync('/dev/full', constants.O_WRONLY);
    const limit = 32 * 1024;
    const destination = logDestination(fd, limit);
    const logger = createRootLogger('info', destination);
    const before = droppedLogLines();
    const count = 1_000;
    for (let n = 0; n < count; n += 1) logger.info('x'.repeat(100));
    // The writes under way fail, the periodic flush retries (every 200 ms) and fails again.
    await sleep(500);
    for (let n = 0; n < 100; n += 1) logger.info('x'.repeat(100));
    await sleep(300);
    const dropped = droppedLogLines() - before;
    expect(dropped).toBeGreaterThan(count + 100 - limit / 100);
    expect(dropped).toBeLessThan(count + 100);
    expect(await flushLogDestination(destination, 10_000)).toBe(false);
    expect(destination.flushSync).not.toBe(libraryFlushSync());
    logger.fatal('the last line');
    destination.destroy();
  });

  it('writes out everything it holds, also what was logged while a write was under way', async () => {
    const path = join(dir, 'file.log');
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT);
    const destination = logDestination(fd);
    const logger = createRootLogger('info', destination);
    // Just over 4 KB: a write starts with what has gathered; what comes after it stays under 4 KB, and the
    // library calls a flush back with that left.
    const first = Array.from({ length: 30 }, (_, n) => `line ${n} ${'x'.repeat(80)}`);
    for (const line of first) logger.info(line);
    const last = ['after 1', 'after 2', 'after 3'];
    for (const line of last) logger.info(line);
    expect(await flushLogDestination(destination, 10_000)).toBe(true);
    expect(jsonLines(path)).toEqual([...first, ...last]);
    destination.end();
  });

  it('writes out a line logged while a write of nothing was under way (the periodic flush with nothing held)', async () => {
    const path = join(dir, 'file.log');
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT);
    const destination = logDestination(fd);
    const logger = createRootLogger('info', destination);
    // What the periodic flush does with nothing held: a write of zero bytes, under way when the line comes.
    destination.flush();
    logger.info('Stopped cleanly');
    expect(await flushLogDestination(destination, 10_000)).toBe(true);
    expect(jsonLines(path)).toEqual(['Stopped cleanly']);
    destination.end();
  });

  it('writes out lines that never reached the 4 KB batch', async () => {
    const path = join(dir, 'file.log');
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT);
    const destination = logDestination(fd);
    const logger = createRootLogger('info', destination);
    for (let n = 0; n < 10; n += 1) logger.info(`line ${n}`);
    expect(readFileSync(path, 'utf8')).toBe('');
    expect(await flushLogDestination(destination, 10_000)).toBe(true);
    expect(jsonLines(path)).toEqual(Array.from({ length: 10 }, (_, n) => `line ${n}`));
    destination.end();
  });
});
