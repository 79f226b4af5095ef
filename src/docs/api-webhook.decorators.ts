import { applyDecorators } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBasicAuth,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiInternalServerErrorResponse,
  ApiPayloadTooLargeResponse,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { SecurityRequirementObject } from '@nestjs/swagger';
import { ErrorResponseSchema } from '../common/http/error-response.schema';

/** Names of the security schemes in the document (components.securitySchemes). */
export const SECURITY_SCHEME = {
  bearer: 'bearer',
  basic: 'basic',
  webhookId: 'webhook-id',
  webhookTimestamp: 'webhook-timestamp',
  webhookSignature: 'webhook-signature',
  headerSignature: 'header-signature',
  mutualTls: 'mutualTLS',
} as const;

/** Any one of these satisfies CallerAuthGuard (the three Standard Webhooks headers go together). */
export const WEBHOOK_SECURITY: readonly SecurityRequirementObject[] = [
  { [SECURITY_SCHEME.bearer]: [] },
  { [SECURITY_SCHEME.basic]: [] },
  {
    [SECURITY_SCHEME.webhookId]: [],
    [SECURITY_SCHEME.webhookTimestamp]: [],
    [SECURITY_SCHEME.webhookSignature]: [],
  },
  { [SECURITY_SCHEME.headerSignature]: [] },
  { [SECURITY_SCHEME.mutualTls]: [] },
];

/** An error answer of webhook routes, with the ErrorResponse body. */
export interface WebhookError {
  readonly status: number;
  /** On a route that takes a webhook body. */
  readonly description: string;
  /** On a route that takes none (`GET /v1/webhooks/rasa/health`, polling): false when such a route never answers it. */
  readonly withoutBody: string | false;
}

const UNAVAILABLE_REPLAY_CHECK =
  'the replay check of a Standard Webhooks signature (Redis, when REDIS_URL is set) cannot be reached';
const OVERLOADED_PASSWORD_CHECKS = 'too many basic-auth password checks are running at once';

/** The error answers every webhook route can give, all with the ErrorResponse body. */
export const WEBHOOK_ERRORS: readonly WebhookError[] = [
  {
    status: 400,
    description: 'Malformed JSON, or a body that fails validation (`details` names each field).',
    withoutBody: 'A malformed request, e.g. a credential sent twice (two Authorization headers).',
  },
  { status: 401, description: 'Missing or invalid credentials.', withoutBody: 'Missing or invalid credentials.' },
  {
    status: 403,
    description: 'The caller may not call this platform endpoint.',
    withoutBody: 'The caller may not call this platform endpoint.',
  },
  { status: 413, description: 'The request body is larger than BODY_LIMIT_BYTES.', withoutBody: false },
  {
    status: 415,
    description:
      'The body is not UTF-8 JSON (Content-Type application/json or another +json type), or is compressed with an ' +
      'encoding other than gzip or deflate (e.g. br); gzip and deflate bodies are accepted.',
    withoutBody: false,
  },
  {
    status: 409,
    description: 'IDEMPOTENCY_IN_PROGRESS: the same turn is still running elsewhere; retry after Retry-After.',
    withoutBody: false,
  },
  {
    status: 422,
    description: 'IDEMPOTENCY_KEY_REUSED: this turn id was already used with a different body.',
    withoutBody:
      'IDEMPOTENCY_KEY_REUSED: this Standard Webhooks webhook-id was already used within its signature window for ' +
      'another request (another path, or a body); sign each request under a new id.',
  },
  {
    status: 429,
    description: 'Rate limit exceeded; retry after the time in Retry-After.',
    withoutBody: 'Rate limit exceeded; retry after the time in Retry-After.',
  },
  {
    status: 500,
    description: 'Internal error; quote the requestId.',
    withoutBody: 'Internal error; quote the requestId.',
  },
  {
    status: 503,
    description:
      'UNAVAILABLE: PostgreSQL is unreachable (or no connection was free within the turn deadline) and ' +
      `DEGRADED_MODE=503, or ${UNAVAILABLE_REPLAY_CHECK}; OVERLOADED: the replica is too busy to answer within the ` +
      `deadline and refused the turn before doing anything, or ${OVERLOADED_PASSWORD_CHECKS}. Retry after ` +
      'Retry-After.',
    withoutBody:
      `UNAVAILABLE: ${UNAVAILABLE_REPLAY_CHECK}; OVERLOADED: the replica is too busy, or ` +
      `${OVERLOADED_PASSWORD_CHECKS}. Retry after Retry-After.`,
  },
];

const ERROR_DECORATORS: Record<number, typeof ApiBadRequestResponse> = {
  400: ApiBadRequestResponse,
  401: ApiUnauthorizedResponse,
  403: ApiForbiddenResponse,
  413: ApiPayloadTooLargeResponse,
  415: ApiUnsupportedMediaTypeResponse,
  409: ApiConflictResponse,
  422: ApiUnprocessableEntityResponse,
  429: ApiTooManyRequestsResponse,
  500: ApiInternalServerErrorResponse,
  503: ApiServiceUnavailableResponse,
};

/** Documents the credentials CallerAuthGuard accepts on a route. */
export function ApiWebhookAuth(): ClassDecorator & MethodDecorator {
  return applyDecorators(
    ApiBearerAuth(SECURITY_SCHEME.bearer),
    ApiBasicAuth(SECURITY_SCHEME.basic),
    ...WEBHOOK_SECURITY.slice(2).map((requirement) => ApiSecurity(requirement)),
  );
}

/** Documents the error answers of a webhook route. */
export function ApiWebhookErrors(): ClassDecorator & MethodDecorator {
  return applyDecorators(
    ...WEBHOOK_ERRORS.map(({ status, description }) =>
      ERROR_DECORATORS[status]({ description, type: ErrorResponseSchema }),
    ),
  );
}
