/** Stable, documented error codes; transports map them to HTTP statuses (and later gRPC codes). */
export type ErrorCode =
  | 'MALFORMED_JSON'
  | 'MALFORMED_REQUEST'
  | 'RATE_LIMITED'
  | 'VALIDATION_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'IDEMPOTENCY_IN_PROGRESS'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'UNAVAILABLE'
  | 'OVERLOADED'
  | 'DEADLINE_EXCEEDED'
  | 'INTERNAL';

export interface ErrorDetail {
  /** Dotted path of the offending field, e.g. `queryResult.intent.displayName`. */
  readonly field: string;
  readonly problem: string;
}

/** An error the caller may see: its message must never carry secrets, payload data or internals. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
    /** e.g. `Retry-After` on a 409 or 503 the client should retry. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}
