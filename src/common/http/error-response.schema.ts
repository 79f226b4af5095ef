import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { ErrorCode, ErrorDetail } from '../errors/app-error';
import type { ErrorBody } from './http-error.filter';

/** Every error code HttpErrorFilter can answer with. */
export const ERROR_CODES: readonly (ErrorCode | 'METHOD_NOT_ALLOWED' | 'HTTP_ERROR')[] = [
  'MALFORMED_JSON',
  'MALFORMED_REQUEST',
  'RATE_LIMITED',
  'VALIDATION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'INTERNAL',
  'HTTP_ERROR',
];

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
  error!: ErrorCode | 'METHOD_NOT_ALLOWED' | 'HTTP_ERROR';

  @ApiProperty({ example: 'Generic webhook request is invalid: sessionId.' })
  message!: string;

  @ApiPropertyOptional({ type: [ErrorDetailSchema], description: 'Present for validation errors.' })
  details?: ErrorDetailSchema[];

  @ApiProperty({ description: 'Also sent as the X-Request-Id header; quote it when reporting a problem.' })
  requestId!: string;
}
