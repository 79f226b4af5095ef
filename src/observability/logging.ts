import type { LoggerService } from '@nestjs/common';
import { context, createContextKey, INVALID_TRACEID, trace } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import { Logger as PinoNestLogger, PinoLogger, type Params } from 'nestjs-pino';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import type { RequestContext } from '../common/http/request-context';
import type { AppConfig } from '../config';
import { LOG_REDACT_PATHS } from './redaction';
import { tracingRunning } from './telemetry';

type LogLevel = AppConfig['logLevel'];

/** LOG_LEVEL (Nest's names) → pino's. */
const PINO_LEVELS: Record<LogLevel, Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  info: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** The request being handled, kept in the OpenTelemetry context (never propagated out of the process). */
const REQUEST = createContextKey('webhook-fulfillment request');

/**
 * What a line needs of the HTTP request or gRPC call being handled, read when the line is logged: the id is set
 * when it arrives, the caller once authenticated.
 */
export interface LoggedRequest {
  readonly requestId?: string;
  readonly caller?: { readonly id: string };
}

/**
 * Fields every line gets from where it is logged: the request's id and caller (once authenticated) and the
 * active span's ids. Both come from the OpenTelemetry context, which follows async work through the
 * tracing SDK's AsyncLocalStorage; with OTEL_SDK_DISABLED=true there is no such context (and none of its
 * cost), and only the access line carries the request id.
 */
export function contextFields(): Record<string, string> {
  const active = context.active();
  // A fresh object each time: pino merges the line's own fields into what the mixin returns.
  const fields: Record<string, string> = {};
  const request = active.getValue(REQUEST) as LoggedRequest | undefined;
  if (request) {
    if (request.requestId !== undefined) fields.request_id = request.requestId;
    if (request.caller) fields.caller_id = request.caller.id;
  }
  const ids = trace.getSpan(active)?.spanContext();
  // The SDK makes valid ids and the propagator accepts only valid ones; an invalid context is the all-zero one.
  if (ids && ids.traceId !== INVALID_TRACEID) {
    fields.trace_id = ids.traceId;
    fields.span_id = ids.spanId;
  }
  return fields;
}

const LOG_BUFFER_BYTES = 4096;
const LOG_FLUSH_MS = 200;
/**
 * The most that may wait in memory for whoever reads the output. A reader that stops reading (a stalled log
 * agent) would otherwise grow the heap by every line logged; beyond this, lines are dropped and counted.
 */
const LOG_BACKLOG_LIMIT_BYTES = 8 * 1024 * 1024;

type LogDestination = ReturnType<typeof pino.destination>;

let droppedLines = 0;

/** Lines dropped since the process started because the output's reader had fallen that far behind. */
export function droppedLogLines(): number {
  return droppedLines;
}

/**
 * Where the process's lines go (standard output): asynchronous and buffered. Lines go out together once
 * LOG_BUFFER_BYTES have gathered, or every LOG_FLUSH_MS (a write per line cost ~20 µs of CPU under load);
 * main.ts flushes the start-up lines at once and what is left before it exits (flushLogs).
 */
export function logDestination(fd = 1, backlogLimitBytes = LOG_BACKLOG_LIMIT_BYTES): LogDestination {
  // Node's own handle on standard output makes a pipe non-blocking (a pipe is how containers read it): a write
  // to a reader that stopped reading then comes back (EAGAIN, retried later) instead of blocking a thread-pool
  // thread for good, which the exit would wait on. Other modules happen to do this later; here it is on purpose.
  if (fd === 1) void process.stdout.fd;
  const destination = pino.destination({
    dest: fd,
    sync: false,
    minLength: LOG_BUFFER_BYTES,
    maxLength: backlogLimitBytes,
    periodicFlush: LOG_FLUSH_MS,
  });
  // pino writes one line at a time.
  destination.on('drop', () => (droppedLines += 1));
  // The library's synchronous flush, which pino calls after every fatal line and at process exit, retries a full
  // pipe, a full disk or any failed write forever, on the main thread, where not even a signal gets through. Every
  // exit of this process writes out what is held through flushLogs instead: asynchronously, and bounded.
  destination.flushSync = () => undefined;
  destination.on('error', (error: NodeJS.ErrnoException) => keepServingAfterWriteError(destination, error));
  return destination;
}

/**
 * A failed write of the output must not stop the service: its answers and its audit trail (in PostgreSQL) do not
 * depend on it. Left to pino, any error but EPIPE was thrown from the write's callback, ending the process; on a
 * full disk it then hung in the exit's flush. Other errors (ENOSPC, EIO) are retried with the next lines, which
 * wait meanwhile within the backlog limit and are dropped and counted beyond it, so logging resumes once space is
 * freed. After EPIPE the reader is gone for good: pino replaces `write` with a no-op, and each line it would have
 * written is counted as dropped instead. (For one error pino calls this twice, the second time from its own
 * re-emit; both calls do the same.)
 */
function keepServingAfterWriteError(destination: LogDestination, error: NodeJS.ErrnoException): void {
  if (error.code !== 'EPIPE') return;
  destination.write = () => {
    droppedLines += 1;
    return true;
  };
}

let isoSecond = Number.NaN;
let isoSecondPrefix = '';

/**
 * pino's `isoTime` field (`,"time":"2026-12-07T23:46:10.123Z"`), its date and time up to the second made once a
 * second: `Date#toISOString` for every line took about 0.5 µs, this about 0.07 µs (Node 20, a micro-benchmark).
 */
export function isoTimeField(now = Date.now()): string {
  const millisecond = now % 1000;
  const second = now - millisecond;
  if (second !== isoSecond) {
    isoSecond = second;
    isoSecondPrefix = `,"time":"${new Date(second).toISOString().slice(0, 20)}`;
  }
  return `${isoSecondPrefix}${millisecond < 10 ? '00' : millisecond < 100 ? '0' : ''}${millisecond}Z"`;
}

/** A JSON-lines logger: ISO time, level names, request and trace ids, secrets censored by path. */
export function createRootLogger(level: LogLevel, destination: DestinationStream): Logger {
  return pino(
    {
      level: PINO_LEVELS[level],
      timestamp: () => isoTimeField(),
      formatters: { level: (label) => ({ level: label }) },
      mixin: contextFields,
      redact: { paths: [...LOG_REDACT_PATHS], censor: '[REDACTED]' },
    },
    destination,
  );
}

const roots = new Map<LogLevel, { logger: Logger; destination: LogDestination }>();

/** The process's logger for a level: main.ts, Nest's logger and the access log write through one. */
export function rootLogger(level: LogLevel): Logger {
  let root = roots.get(level);
  if (!root) {
    const destination = logDestination();
    root = { logger: createRootLogger(level, destination), destination };
    roots.set(level, root);
  }
  return root.logger;
}

/**
 * Writes out everything a destination holds, before the process exits. Resolves true once it is all written,
 * false when it cannot be: a write failed (the reader is gone, the disk is full), or timeoutMs passed (the reader
 * stopped reading). What could not be written is given up.
 */
export function flushLogDestination(destination: LogDestination, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    let writtenThisRound = 0;
    const onWrite = (bytes: number): void => {
      writtenThisRound += bytes;
    };
    const settle = (allWritten: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      destination.off('write', onWrite);
      resolve(allWritten);
    };
    const timer = setTimeout(() => settle(false), timeoutMs);
    destination.on('write', onWrite);
    // A flush calls back once at most LOG_BUFFER_BYTES are left, and lines logged meanwhile wait too: flush again
    // until a round finds nothing left to write. Never the first round: a flush asked for while a write is under
    // way calls back when that write ends, and one the periodic flush began with nothing to write (zero bytes)
    // ends with the lines logged meanwhile still held ("Stopped cleanly" lost from a clean exit's output).
    let rounds = 0;
    const round = (): void => {
      writtenThisRound = 0;
      rounds += 1;
      destination.flush((error) => {
        // fsync after the writes fails on pipes and terminals (EINVAL): the lines are written all the same.
        if (error && (error as NodeJS.ErrnoException).syscall !== 'fsync') settle(false);
        else if (writtenThisRound === 0 && rounds > 1) settle(true);
        else round();
      });
    };
    round();
  });
}

/** Before the process exits: the process's loggers' lines written, or given up after timeoutMs. */
export async function flushLogs(timeoutMs: number): Promise<void> {
  await Promise.all([...roots.values()].map(({ destination }) => flushLogDestination(destination, timeoutMs)));
}

/** Nest's logger (`Logger` from @nestjs/common everywhere) writing JSON lines through pino (nestjs-pino). */
export function createNestLogger(level: LogLevel): LoggerService {
  const params: Params = { pinoHttp: { logger: rootLogger(level) } };
  return new ServiceNestLogger(new PinoLogger(params), params);
}

/** The context Nest's bootstrap logs a failed start under, with the error's stack. */
const BOOTSTRAP_EXCEPTION_CONTEXT = 'ExceptionHandler';

/**
 * Nest's logger, but a failed start is not logged twice: main.ts says why in one line (`Start-up failed: …`), and
 * an error it does not know ends the process with a fatal line carrying the stack, so the copy Nest's bootstrap
 * logs first is at debug.
 */
class ServiceNestLogger extends PinoNestLogger {
  override error(message: unknown, ...optionalParams: unknown[]): void {
    if (optionalParams.at(-1) === BOOTSTRAP_EXCEPTION_CONTEXT) super.debug(message, ...optionalParams);
    else super.error(message, ...optionalParams);
  }
}

/**
 * Puts the request into the log context: every line logged while handling it carries its request id and,
 * once authenticated, its caller. After the body is read, so what runs from the body's 'end' event on runs in
 * the context. (The access line is `httpAccessLog`'s.)
 */
export function requestLogContext(req: Request, _res: Response, next: NextFunction): void {
  inLogContext(req as RequestContext, next);
}

/**
 * Runs `handle` (and whatever it starts) with `request` in the log context: every line logged meanwhile carries
 * its request id and, once set, its caller. A gRPC call's handling runs in it too (`logCallsInContext`).
 */
export function inLogContext<T>(request: LoggedRequest, handle: () => T): T {
  // Without tracing there is no context to carry it (the API's no-op manager would drop it after a copy).
  return tracingRunning() ? context.with(context.active().setValue(REQUEST, request), handle) : handle();
}
