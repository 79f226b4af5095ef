import { Metadata, status as Status } from '@grpc/grpc-js';
import { AppError, ErrorCode } from '../common/errors/app-error';

/** Our error codes as gRPC status codes (the HTTP filter maps the same codes to HTTP statuses). */
export const GRPC_STATUS_BY_CODE: Readonly<Record<ErrorCode, Status>> = {
  MALFORMED_JSON: Status.INVALID_ARGUMENT,
  MALFORMED_REQUEST: Status.INVALID_ARGUMENT,
  VALIDATION_FAILED: Status.INVALID_ARGUMENT,
  UNSUPPORTED_MEDIA_TYPE: Status.INVALID_ARGUMENT,
  // What grpc-js itself answers for a message over the size limit.
  PAYLOAD_TOO_LARGE: Status.RESOURCE_EXHAUSTED,
  RATE_LIMITED: Status.RESOURCE_EXHAUSTED,
  UNAUTHENTICATED: Status.UNAUTHENTICATED,
  FORBIDDEN: Status.PERMISSION_DENIED,
  NOT_FOUND: Status.NOT_FOUND,
  // The same turn is running elsewhere: a concurrency conflict the client retries (HTTP 409).
  IDEMPOTENCY_IN_PROGRESS: Status.ABORTED,
  // The request id is taken by another request: no retry helps until the client sends a new id (HTTP 422).
  IDEMPOTENCY_KEY_REUSED: Status.FAILED_PRECONDITION,
  UNAVAILABLE: Status.UNAVAILABLE,
  // Refused before any work so accepted calls keep their deadlines: retry (elsewhere) shortly.
  OVERLOADED: Status.UNAVAILABLE,
  DEADLINE_EXCEEDED: Status.DEADLINE_EXCEEDED,
  INTERNAL: Status.INTERNAL,
};

export const INTERNAL_MESSAGE = 'Internal error. Quote the request id when reporting it.';

/** What grpc-js sends as the call's status: `details` is the status message the client sees. */
export interface GrpcErrorStatus {
  readonly code: Status;
  readonly details: string;
  readonly message: string;
  readonly metadata: Metadata;
}

/** The status message: our message, then each offending field (validation details, never a stack). */
export function statusMessage(error: AppError): string {
  if (error.details.length === 0) return error.message;
  return `${error.message} ${error.details.map((detail) => `${detail.field}: ${detail.problem}`).join('; ')}`;
}

/**
 * Maps any error to the status sent to the client. Only `AppError`s say what went wrong; anything else is
 * INTERNAL with a fixed message. Trailers carry the request id and, for retryable errors, `retry-after`.
 */
export function toGrpcStatus(error: unknown, requestId?: string): GrpcErrorStatus {
  const metadata = new Metadata();
  if (requestId) metadata.set('x-request-id', requestId);
  if (!(error instanceof AppError)) {
    return { code: Status.INTERNAL, details: INTERNAL_MESSAGE, message: INTERNAL_MESSAGE, metadata };
  }
  for (const [name, value] of Object.entries(error.headers)) metadata.set(name.toLowerCase(), value);
  // A message naming a field from the caller's JSON may hold an unpaired surrogate (a key escaped as "\uD800"):
  // grpc-js percent-encodes the status message with encodeURI, which throws on one, outside any handler of ours.
  const message = (statusMessage(error) as string & { toWellFormed(): string }).toWellFormed();
  return { code: GRPC_STATUS_BY_CODE[error.code], details: message, message, metadata };
}
