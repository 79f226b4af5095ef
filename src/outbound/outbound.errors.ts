/** Stable codes of outbound failures, so callers and logs can tell them apart without parsing messages. */
export type OutboundErrorCode =
  | 'OUTBOUND_TIMEOUT'
  | 'OUTBOUND_CIRCUIT_OPEN'
  | 'OUTBOUND_FORBIDDEN_ADDRESS'
  | 'OUTBOUND_FORBIDDEN_URL'
  | 'OUTBOUND_NETWORK'
  | 'OUTBOUND_RESPONSE_TOO_LARGE';

/**
 * A downstream call failed. Messages name the method, the origin and what went wrong — never the path's
 * query, request bodies or header values, which may carry secrets or personal data.
 */
export abstract class OutboundError extends Error {
  abstract readonly code: OutboundErrorCode;
}

/** One attempt took longer than its `timeoutMs`. */
export class OutboundTimeoutError extends OutboundError {
  readonly code = 'OUTBOUND_TIMEOUT';

  constructor(
    readonly method: string,
    readonly origin: string,
    readonly timeoutMs: number,
  ) {
    super(`${method} ${origin} timed out after ${timeoutMs} ms`);
    this.name = 'OutboundTimeoutError';
  }
}

/** The circuit breaker for `key` is open: the call was refused without reaching the downstream API. */
export class CircuitOpenError extends OutboundError {
  readonly code = 'OUTBOUND_CIRCUIT_OPEN';

  /** `halfOpensWithinMs`: the circuit's wait before it lets a trial call through, when known. */
  constructor(
    readonly key: string,
    readonly halfOpensWithinMs?: number,
  ) {
    super(`circuit "${key}" is open after repeated failures; not calling it until it half-opens`);
    this.name = 'CircuitOpenError';
  }
}

/** The host is, or resolved to, an address outbound calls must not reach (loopback, private, metadata…). */
export class ForbiddenAddressError extends OutboundError {
  readonly code = 'OUTBOUND_FORBIDDEN_ADDRESS';

  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(
      host === address
        ? `refusing to connect to ${address}: not a public address`
        : `refusing to connect to ${host}: it resolves to ${address}, not a public address`,
    );
    this.name = 'ForbiddenAddressError';
  }
}

/** The URL itself is refused before any lookup: a scheme other than https: (or http: where allowed). */
export class ForbiddenUrlError extends OutboundError {
  readonly code = 'OUTBOUND_FORBIDDEN_URL';

  constructor(
    readonly host: string,
    reason: string,
  ) {
    super(`refusing to call ${host}: ${reason}`);
    this.name = 'ForbiddenUrlError';
  }
}

/** The connection failed or broke (refused, reset, DNS failure…); `cause` holds the original error. */
export class OutboundNetworkError extends OutboundError {
  readonly code = 'OUTBOUND_NETWORK';

  constructor(
    readonly method: string,
    readonly origin: string,
    cause: unknown,
  ) {
    super(`${method} ${origin} failed: ${describeCause(cause)}`, { cause });
    this.name = 'OutboundNetworkError';
  }
}

/** The answer's body was longer than the call allows (`maxResponseBytes`): it is not read any further. */
export class OutboundResponseTooLargeError extends OutboundError {
  readonly code = 'OUTBOUND_RESPONSE_TOO_LARGE';

  constructor(
    readonly method: string,
    readonly origin: string,
    readonly status: number,
    readonly maxBytes: number,
  ) {
    super(`${method} ${origin} answered HTTP ${status} with a body over ${maxBytes} bytes`);
    this.name = 'OutboundResponseTooLargeError';
  }
}

/** The error's code (ECONNREFUSED, UND_ERR_SOCKET…) or class name: their messages may echo request data. */
function describeCause(cause: unknown): string {
  // Duck-typed rather than instanceof: errors from Node's core may come from another realm (e.g. under Jest).
  const { code, name } = (typeof cause === 'object' && cause !== null ? cause : {}) as {
    code?: unknown;
    name?: unknown;
  };
  if (typeof code === 'string') return code;
  return typeof name === 'string' ? name : 'unknown error';
}
