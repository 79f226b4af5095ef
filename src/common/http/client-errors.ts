import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { normaliseAddress } from '../net/client-address';
import { type Refusal, refusals } from './http-error.filter';

/** What Node answers a request it cannot parse (its own default), as JSON like every other refusal. */
const PARSE_REFUSALS: Readonly<Record<string, { status: number; text: string; reason: string; message: string }>> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    text: 'Request Header Fields Too Large',
    reason: 'headers_too_large',
    message: 'The request headers are too large.',
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    status: 413,
    text: 'Payload Too Large',
    reason: 'chunk_extensions_too_large',
    message: 'The request has too many chunk extensions.',
  },
};

/** A request Node's HTTP parser refused (or timed out) before any application code saw it. */
export interface ClientErrorAnswer {
  /** The status written, when one could be (nothing is written once a response was under way). */
  readonly status?: number;
  /** The error's code (`HPE_HEADER_OVERFLOW`, `ERR_HTTP_REQUEST_TIMEOUT`, …). */
  readonly code?: string;
  /** The connection's peer: Node parsed no headers, so behind a proxy this is the proxy. */
  readonly peer?: string;
}

function rawJsonResponse(status: number, text: string, message: string): string {
  const body = JSON.stringify({ statusCode: status, error: 'HTTP_ERROR', message });
  return (
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/** How long a client may take over its headers and its request, and keep an idle connection open. */
export interface SlowClientLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

/**
 * Slow clients cannot hold connections open: headers, whole requests and idle keep-alives are bounded. Node's own
 * Host check is off: `requireHostHeader` answers it, as JSON and audited, rather than Node with a bare 400.
 */
export function limitSlowClients(server: Server, limits: SlowClientLimits): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  checkTimeoutsEvery(server, limits);
  (server as { requireHostHeader?: boolean }).requireHostHeader = false;
}

/**
 * How often Node looks for requests past the headers or request timeout. Node's default (30 s) cut a stalled upload
 * up to 30 s after its limit: with HTTP_REQUEST_TIMEOUT_MS at 1 s the connection was held for 31 s. Every second, or
 * every quarter of the shortest limit when that is under 4 s (100 ms at least); 30 s when both limits are off.
 */
export function timeoutCheckIntervalMs(
  limits: Pick<SlowClientLimits, 'headersTimeoutMs' | 'requestTimeoutMs'>,
): number {
  const limitsInForce = [limits.headersTimeoutMs, limits.requestTimeoutMs].filter((ms) => ms > 0);
  if (limitsInForce.length === 0) return 30_000;
  return Math.max(100, Math.min(1000, Math.floor(Math.min(...limitsInForce) / 4)));
}

/** Sets the interval of Node's timeout check; it is read when the server starts listening. */
export function checkTimeoutsEvery(
  server: Server,
  limits: Pick<SlowClientLimits, 'headersTimeoutMs' | 'requestTimeoutMs'>,
): void {
  (server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = timeoutCheckIntervalMs(limits);
}

/**
 * Answers what Node's HTTP parser refuses (431 headers too large, 400 malformed, 408 request timeout) as JSON,
 * then tells `onAnswered` (the access log) and publishes parse refusals on `refusals` for the audit trail.
 * Node's own handling (lib/_http_server.js) once a listener exists is ours to do: answer when nothing was
 * written yet, then destroy the socket. A reset is not a refusal of what the client sent, and gets no answer.
 */
export function answerClientErrors(
  server: Server,
  app: unknown,
  onAnswered: (answer: ClientErrorAnswer) => void,
): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const refusal = error.code ? PARSE_REFUSALS[error.code] : undefined;
    // Read before destroy(), which clears it.
    const peer = normaliseAddress(socket.remoteAddress) ?? socket.remoteAddress;
    // Node's condition: no response in flight on this connection, or none of it written yet.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    // The client ended its side in the middle of a request being handled: that request was abandoned (its own access
    // line says so), nothing it sent was refused, and an answer could not be read.
    if (error.code === 'HPE_INVALID_EOF_STATE' && inFlight) {
      socket.destroy(error);
      return;
    }
    let status: number | undefined;
    if (socket.writable && !inFlight?.headersSent) {
      if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        status = 408;
        socket.write('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
      } else if (refusal) {
        status = refusal.status;
        socket.write(rawJsonResponse(refusal.status, refusal.text, refusal.message));
      } else if (error.code !== 'ECONNRESET') {
        status = 400;
        socket.write(rawJsonResponse(400, 'Bad Request', 'The request is not valid HTTP.'));
      }
    }
    socket.destroy(error);
    if (status !== undefined) onAnswered({ status, code: error.code, peer });
    if (error.code?.startsWith('HPE_') !== true || !refusals.hasSubscribers) return;
    refusals.publish({
      event: 'input_validation_fail',
      reason: refusal?.reason ?? 'malformed_http',
      remoteAddress: peer,
      detail: error.code,
      app,
    } satisfies Refusal);
  });
}
