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
  ) {
    super(message);
    this.name = 'AppError';
  }
}
