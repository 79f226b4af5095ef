import type { NextFunction, Request, Response } from 'express';
import type { Level, Logger } from 'pino';
import type { ClientErrorAnswer } from '../common/http/client-errors';
import type { RequestContext } from '../common/http/request-context';
import { inRequestContext } from '../common/http/in-request-context';
import { pathOf } from './redaction';
import { isProbe } from './telemetry';

/**
 * The fields of an access line, HTTP or gRPC. Fixed fields none of which is a secret, so the line skips the
 * redaction pass (matching the redaction paths cost ~11 µs a line, the rest of the line ~2 µs); the active
 * span's trace and span ids come from the logger's mixin.
 */
export interface AccessLine {
  readonly requestId?: string;
  /** The HTTP method, or `GRPC`. */
  readonly method: string;
  /** The path without its query, or the full gRPC method (`/package.Service/Method`). */
  readonly path: string;
  /** The route template that answered (`/v1/webhooks/dialogflow-es`), when a route did. */
  readonly route?: string;
  /** HTTP status, or the gRPC status code; none when the client went away first. */
  readonly status?: number;
  /** The gRPC status code's name. */
  readonly grpcStatus?: string;
  /** What was level-worthy about the outcome: `info`, `warn` (refused, abandoned) or `error`. */
  readonly level: Level;
  /** From the first middleware to the response's end; unknown for what Node's parser refused. */
  readonly durationMs?: number;
  readonly bytesIn?: number;
  readonly bytesOut?: number;
  readonly callerId?: string;
  readonly clientAddress?: string;
  readonly aborted?: boolean;
  /** Why Node's HTTP parser refused the request (`HPE_HEADER_OVERFLOW`, …), for requests it never handed on. */
  readonly parseError?: string;
}

/** A logger for access lines: the root logger without the redaction pass. */
export function accessLogger(root: Logger): Logger {
  return root.child({}, { redact: [] });
}

export function writeAccessLine(logger: Logger, line: AccessLine): void {
  if (!logger.isLevelEnabled(line.level)) return;
  const outcome = line.aborted
    ? 'abandoned by the client'
    : line.grpcStatus !== undefined
      ? line.grpcStatus
      : String(line.status ?? '');
  logger[line.level](
    {
      request_id: line.requestId,
      method: line.method,
      path: line.path,
      route: line.route,
      status: line.status,
      grpc_status: line.grpcStatus,
      duration_ms: line.durationMs === undefined ? undefined : Math.round(line.durationMs * 10) / 10,
      bytes_in: line.bytesIn,
      bytes_out: line.bytesOut,
      caller_id: line.callerId,
      client_address: line.clientAddress,
      aborted: line.aborted,
      parse_error: line.parseError,
    },
    `${line.method} ${line.path} ${outcome}`,
  );
}

/** Whether a probe (health check, scrape) gets an access line: ACCESS_LOG_PROBES_PERCENT of them do. */
export function sampleProbe(percent: number): boolean {
  return percent >= 100 || (percent > 0 && Math.random() * 100 < percent);
}

export interface HttpAccessLogOptions {
  /** Percent of probe requests (`/health/*`, `/metrics`) that get a line; 0 is none. */
  readonly probePercent: number;
}

/**
 * One access line per HTTP request when its response ends, whatever answered it: the overload guard, the
 * pre-authentication limit, the body reader (400, 413, 415), a controller, the docs. Registered first, so
 * nothing can answer before it is watching. Request id, method, path without the query, route, status,
 * duration, bytes in and out, caller, client address (see TRUSTED_PROXIES) - never headers or bodies.
 * 2xx/3xx at info, 4xx and requests the client abandoned at warn, 5xx at error.
 */
export function httpAccessLog(
  logger: Logger,
  options: HttpAccessLogOptions,
): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    const request = req as RequestContext;
    if (!isProbe(request.originalUrl) || sampleProbe(options.probePercent)) {
      const started = performance.now();
      // In the request's trace context, so the access line carries its trace and span ids.
      res.once(
        'close',
        inRequestContext(() => {
          const level = httpLevel(res);
          // The line is only put together when its level is logged.
          if (logger.isLevelEnabled(level)) {
            writeAccessLine(logger, httpAccessLine(request, res, level, performance.now() - started));
          }
        }),
      );
    }
    next();
  };
}

/** 2xx/3xx info, 4xx and abandoned warn, 5xx error. */
function httpLevel(res: Response): Level {
  const status = res.statusCode;
  return !res.writableFinished || (status >= 400 && status < 500) ? 'warn' : status >= 500 ? 'error' : 'info';
}

function httpAccessLine(request: RequestContext, res: Response, level: Level, durationMs: number): AccessLine {
  const finished = res.writableFinished;
  const declaredIn = Number(request.headers['content-length']);
  const declaredOut = Number(res.getHeader('content-length'));
  return {
    requestId: request.requestId,
    method: request.method,
    path: pathOf(request.originalUrl),
    route: (request.route as { path?: unknown } | undefined)?.path as string | undefined,
    status: finished ? res.statusCode : undefined,
    level,
    durationMs,
    bytesIn: request.rawBody?.length ?? (Number.isFinite(declaredIn) ? declaredIn : undefined),
    bytesOut: Number.isFinite(declaredOut) ? declaredOut : undefined,
    callerId: request.caller?.id,
    clientAddress: request.clientAddress,
    aborted: finished ? undefined : true,
  };
}

/**
 * The access line of a request Node's HTTP parser refused (431, 400 malformed, 408): no method or path was
 * read, and the address is the connection's peer.
 */
export function logRefusedRequest(logger: Logger, answer: ClientErrorAnswer): void {
  writeAccessLine(logger, {
    method: '-',
    path: '-',
    status: answer.status,
    level: 'warn',
    clientAddress: answer.peer,
    parseError: answer.code,
  });
}
