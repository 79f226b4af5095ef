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
 * Fields every line gets from where it is logged: the request's id and caller (once authenticated) and the
 * active span's ids. Both come from the OpenTelemetry context, which follows async work through the
 * tracing SDK's AsyncLocalStorage; with OTEL_SDK_DISABLED=true there is no such context (and none of its
 * cost), and only the access line carries the request id.
 */
export function contextFields(): Record<string, string> {
  const active = context.active();
  // A fresh object each time: pino merges the line's own fields into what the mixin returns.
  const fields: Record<string, string> = {};
  const request = active.getValue(REQUEST) as RequestContext | undefined;
  if (request) {
    fields.request_id = request.requestId;
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

/** A JSON-lines logger: ISO time, level names, request and trace ids, secrets censored by path. */
export function createRootLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level: PINO_LEVELS[level],
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: contextFields,
      redact: { paths: [...LOG_REDACT_PATHS], censor: '[REDACTED]' },
    },
    // Asynchronous and buffered: lines go out together once LOG_BUFFER_BYTES have gathered, or every
    // LOG_FLUSH_MS (a write per line cost ~20 µs of CPU under load); pino flushes what is left synchronously
    // when the process exits, and main.ts flushes the start-up lines at once.
    destination ?? pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_MS }),
  );
}

const roots = new Map<LogLevel, Logger>();

/** The process's logger for a level: main.ts, Nest's logger and the access log write through one. */
export function rootLogger(level: LogLevel): Logger {
  let logger = roots.get(level);
  if (!logger) {
    logger = createRootLogger(level);
    roots.set(level, logger);
  }
  return logger;
}

/** Nest's logger (`Logger` from @nestjs/common everywhere) writing JSON lines through pino (nestjs-pino). */
export function createNestLogger(level: LogLevel): LoggerService {
  const params: Params = { pinoHttp: { logger: rootLogger(level) } };
  return new PinoNestLogger(new PinoLogger(params), params);
}

/**
 * Puts the request into the log context: every line logged while handling it carries its request id and,
 * once authenticated, its caller. After the body is read, so what runs from the body's 'end' event on runs in
 * the context. (The access line is `httpAccessLog`'s.)
 */
export function requestLogContext(req: Request, _res: Response, next: NextFunction): void {
  // Without tracing there is no context to carry it (the API's no-op manager would drop it after a copy).
  if (tracingRunning()) context.with(context.active().setValue(REQUEST, req), next);
  else next();
}
