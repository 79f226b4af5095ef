import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { ErrorCode, ErrorDetail } from '../errors/app-error';
import type { ErrorBody } from './http-error.filter';

type AnsweredCode = ErrorCode | 'METHOD_NOT_ALLOWED' | 'HTTP_ERROR';

/**
 * Every error code HttpErrorFilter can answer with. A record, so that a code added to ErrorCode cannot be left out:
 * the published enum lacked the idempotency, unavailable and overload codes, and clients that validate against it
 * refused those answers.
 */
const ANSWERED_CODES: Readonly<Record<AnsweredCode, true>> = {
  MALFORMED_JSON: true,
  MALFORMED_REQUEST: true,
  RATE_LIMITED: true,
  VALIDATION_FAILED: true,
  PAYLOAD_TOO_LARGE: true,
  UNSUPPORTED_MEDIA_TYPE: true,
  UNAUTHENTICATED: true,
  FORBIDDEN: true,
  NOT_FOUND: true,
  METHOD_NOT_ALLOWED: true,
  IDEMPOTENCY_IN_PROGRESS: true,
  IDEMPOTENCY_KEY_REUSED: true,
  UNAVAILABLE: true,
  OVERLOADED: true,
  DEADLINE_EXCEEDED: true,
  INTERNAL: true,
  HTTP_ERROR: true,
};

export const ERROR_CODES: readonly AnsweredCode[] = Object.keys(ANSWERED_CODES) as AnsweredCode[];

export class ErrorDetailSchema implements ErrorDetail {
  @ApiProperty({ description: 'Dotted path of the offending field (or header name).', example: 'sessionId' })
  field!: string;

  @ApiProperty({ example: 'is required' })
  problem!: string;
}

/** OpenAPI schema of the body HttpErrorFilter sends for every error. */
export class ErrorResponseSchema implements ErrorBody {
  @ApiProperty({ type: 'integer', example: 400 })
  statusCode!: number;

  @ApiProperty({ enum: [...ERROR_CODES], example: 'VALIDATION_FAILED' })
  error!: AnsweredCode;

  @ApiProperty({ example: 'Generic webhook request is invalid: sessionId.' })
  message!: string;

  @ApiPropertyOptional({ type: [ErrorDetailSchema], description: 'Present for validation errors.' })
  details?: ErrorDetailSchema[];

  @ApiProperty({ description: 'Also sent as the X-Request-Id header; quote it when reporting a problem.' })
  requestId!: string;
}
