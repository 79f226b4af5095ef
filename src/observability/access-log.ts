import type { NextFunction, Request, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
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
  /** HTTP status, or the gRPC status code; none when the client went away first, or the server cut the request. */
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
  /** The client went away before the answer was sent. */
  readonly aborted?: boolean;
  /** The server cut the request before its answer was sent: its time ran out, or the shutdown's grace did. */
  readonly cut?: ServerCut;
  /** Why Node's HTTP parser refused the request (`HPE_HEADER_OVERFLOW`, …), for requests it never handed on. */
  readonly parseError?: string;
}

/** A logger for access lines: the root logger without the redaction pass. */
export function accessLogger(root: Logger): Logger {
  return root.child({}, { redact: [] });
}

/** What the line's message says of how the request ended. */
function outcomeOf(line: AccessLine): string {
  const status = line.grpcStatus ?? (line.status === undefined ? undefined : String(line.status));
  if (line.cut === 'timeout')
    return status === undefined ? 'timed out by the server' : `${status} timed out by the server`;
  if (line.cut === 'shutdown') return 'cut at shutdown';
  if (line.aborted) return 'abandoned by the client';
  return status ?? '';
}

export function writeAccessLine(logger: Logger, line: AccessLine): void {
  if (!logger.isLevelEnabled(line.level)) return;
  const outcome = outcomeOf(line);
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
      cut: line.cut,
      parse_error: line.parseError,
    },
    `${line.method} ${line.path} ${outcome}`,
  );
}

/**
 * Who cut a request whose response never ended, when it was the server: `timeout` once HTTP_REQUEST_TIMEOUT_MS ran out
 * before the request arrived in full (Node answered 408 when nothing of the response had gone out), `shutdown` for a
 * connection still open at the end of the shutdown's grace, when the listener had closed and its connections were cut.
 */
export type ServerCut = 'timeout' | 'shutdown';

/** How a request without its whole response ended: the client went away, or the server cut it. */
export type Unanswered = 'client' | ServerCut;

const REQUEST_TIMEOUT = 'ERR_HTTP_REQUEST_TIMEOUT';

type ServerSocket = Socket & { readonly server?: { readonly listening?: boolean } };

function timedOut(socket: Socket | null | undefined): boolean {
  const error: NodeJS.ErrnoException | null | undefined = socket?.errored;
  return error?.code === REQUEST_TIMEOUT;
}

/**
 * Why the response to `request` did not end, or undefined when it did. Node destroys the socket of a request past
 * its timeout with ERR_HTTP_REQUEST_TIMEOUT. A socket the server itself destroyed without a reason, while the client
 * neither closed its side nor reset the connection, after the listener stopped listening, was cut at the end of the
 * shutdown (`closeAllConnections`). Anything else: the client went away.
 */
export function unansweredBecause(request: IncomingMessage, response: ServerResponse): Unanswered | undefined {
  if (response.writableFinished) return undefined;
  const socket = request.socket as ServerSocket | null;
  if (timedOut(socket)) return 'timeout';
  if (socket?.destroyed && !socket.errored && !socket.readableEnded && socket.server?.listening === false) {
    return 'shutdown';
  }
  return 'client';
}

/** The status Node sent for a request it timed out: 408, when nothing of the response had gone out before. */
export function timeoutStatus(response: ServerResponse): number | undefined {
  return response.headersSent ? undefined : 408;
}

/**
 * Requests whose access line is still to come. Node's 408 for a request it timed out reaches `logRefusedRequest`
 * as if the parser had refused it: the request's own line tells it instead, once.
 */
const linesToCome = new Set<IncomingMessage>();

function claimTimedOutRequest(): boolean {
  for (const request of linesToCome) {
    if (timedOut(request.socket)) {
      linesToCome.delete(request);
      return true;
    }
  }
  return false;
}

/**
 * Counts the body bytes that arrive for `request` (what the parser hands it), whoever reads them, without reading
 * them: a request cut before its body arrived in full is logged with what came, not with what it declared.
 */
function countArrivingBytes(request: IncomingMessage): () => number {
  let arrived = 0;
  // Not there on a request that is no stream (a unit test's stand-in).
  if (typeof request.push !== 'function') return () => arrived;
  const push = request.push.bind(request);
  request.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (Buffer.isBuffer(chunk) || typeof chunk === 'string') arrived += chunk.length;
    return push(chunk, encoding);
  };
  return () => arrived;
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
      const arrived = countArrivingBytes(request);
      linesToCome.add(request);
      // In the request's trace context, so the access line carries its trace and span ids.
      res.once(
        'close',
        inRequestContext(() => {
          linesToCome.delete(request);
          const unanswered = unansweredBecause(request, res);
          const level = httpLevel(res, unanswered);
          // The line is only put together when its level is logged.
          if (logger.isLevelEnabled(level)) {
            writeAccessLine(
              logger,
              httpAccessLine(request, res, { level, unanswered, arrived, durationMs: performance.now() - started }),
            );
          }
        }),
      );
    }
    next();
  };
}

/** 2xx/3xx info, 4xx, abandoned and timed out warn, 5xx and cut at shutdown error. */
function httpLevel(res: Response, unanswered: Unanswered | undefined): Level {
  if (unanswered === 'shutdown') return 'error';
  if (unanswered !== undefined) return 'warn';
  const status = res.statusCode;
  return status >= 400 && status < 500 ? 'warn' : status >= 500 ? 'error' : 'info';
}

interface HttpEnd {
  readonly level: Level;
  readonly unanswered: Unanswered | undefined;
  /** The body bytes that arrived so far. */
  readonly arrived: () => number;
  readonly durationMs: number;
}

function httpAccessLine(request: RequestContext, res: Response, end: HttpEnd): AccessLine {
  const { unanswered } = end;
  const declaredIn = Number(request.headers['content-length']);
  const declaredOut = Number(res.getHeader('content-length'));
  return {
    requestId: request.requestId,
    method: request.method,
    path: pathOf(request.originalUrl),
    route: (request.route as { path?: unknown } | undefined)?.path as string | undefined,
    status: unanswered === undefined ? res.statusCode : unanswered === 'timeout' ? timeoutStatus(res) : undefined,
    level: end.level,
    durationMs: end.durationMs,
    // What arrived of a body that did not arrive in full (cut, abandoned, refused before it came), not what was declared.
    bytesIn:
      request.rawBody?.length ??
      (request.complete === false ? end.arrived() : Number.isFinite(declaredIn) ? declaredIn : undefined),
    bytesOut: Number.isFinite(declaredOut) ? declaredOut : undefined,
    callerId: request.caller?.id,
    clientAddress: request.clientAddress,
    aborted: unanswered === 'client' ? true : undefined,
    cut: unanswered === 'client' ? undefined : unanswered,
  };
}

/**
 * The access line of a request Node's HTTP parser refused (431, 400 malformed, 408 for headers too slow): no method
 * or path was read, and the address is the connection's peer. A 408 for a request whose headers had been read (its
 * body too slow) is told on that request's own line instead.
 */
export function logRefusedRequest(logger: Logger, answer: ClientErrorAnswer): void {
  if (answer.code === REQUEST_TIMEOUT && claimTimedOutRequest()) return;
  writeAccessLine(logger, {
    method: '-',
    path: '-',
    status: answer.status,
    level: 'warn',
    clientAddress: answer.peer,
    parseError: answer.code,
  });
}
