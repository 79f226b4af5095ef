import type { Platform } from '../common/platform';
import type { ErrorBody } from '../common/http/http-error.filter';
import { SIMULATIONS } from '../platforms/simulations';

/**
 * The turn every platform's request example asks for: the demo customer's checking balance, which the embedded
 * development database has, so "Try it out" with the local development token answers 200.
 */
const EXAMPLE_TURN = {
  intent: 'GetAccountBalance',
  parameters: { user_id: '12345', account_type: 'checking' },
  sessionParameters: {},
  esContexts: [],
  sessionId: 'docs-example-session',
  languageCode: 'en',
  text: 'What is my checking balance?',
  stage: 'fulfillment',
} as const;

/** The request each platform would send for the example turn (built by the platform's own simulation). */
export function requestExample(platform: Platform): Record<string, unknown> {
  return SIMULATIONS[platform].request({ ...EXAMPLE_TURN, platform });
}

const REQUEST_ID = '3f1c6f0e-8c1e-4d7a-9b59-2a8f0d7c5e41';

function error(statusCode: number, code: ErrorBody['error'], message: string, details?: ErrorBody['details']) {
  return { statusCode, error: code, message, ...(details && { details }), requestId: REQUEST_ID };
}

/**
 * What the service really answers for each error status of a webhook route, by name (several where one status
 * has several causes). test/openapi.e2e-spec.ts provokes each and compares it with these.
 */
export const ERROR_EXAMPLES: Readonly<Record<number, Readonly<Record<string, { summary: string; value: object }>>>> = {
  400: {
    malformedJson: {
      summary: 'The body is not JSON',
      value: error(400, 'MALFORMED_JSON', 'The request body is not valid JSON.'),
    },
    validationFailed: {
      summary: 'A field fails validation',
      value: error(400, 'VALIDATION_FAILED', 'Generic webhook request is invalid: sessionId.', [
        { field: 'sessionId', problem: 'should not be empty' },
      ]),
    },
    malformedRequest: {
      summary: 'A credential sent twice (two Authorization headers)',
      value: error(400, 'MALFORMED_REQUEST', 'The request has more than one authorization header.'),
    },
  },
  401: {
    unauthenticated: {
      summary: 'No credentials, or credentials not accepted',
      value: error(401, 'UNAUTHENTICATED', 'Missing or invalid credentials.'),
    },
  },
  403: {
    forbidden: {
      summary: 'The caller may not use this platform',
      value: error(403, 'FORBIDDEN', 'This caller may not call this endpoint.'),
    },
  },
  404: {
    notFound: {
      summary: 'Nothing with this id for this caller',
      value: error(404, 'NOT_FOUND', 'No fulfillment with this id for this caller.'),
    },
  },
  409: {
    inProgress: {
      summary: 'The same turn is still running',
      value: error(
        409,
        'IDEMPOTENCY_IN_PROGRESS',
        'The same request is still being processed; retry shortly to get its result.',
      ),
    },
  },
  413: {
    tooLarge: {
      summary: 'The body is larger than BODY_LIMIT_BYTES',
      value: error(413, 'PAYLOAD_TOO_LARGE', 'The request body is larger than 1048576 bytes.'),
    },
  },
  415: {
    notJson: {
      summary: 'The body is not JSON',
      value: error(415, 'UNSUPPORTED_MEDIA_TYPE', 'The request body must be JSON (Content-Type: application/json).'),
    },
    notDecoded: {
      summary: 'A body compressed otherwise than with gzip or deflate (Content-Encoding: br)',
      value: error(415, 'UNSUPPORTED_MEDIA_TYPE', 'Only gzip and deflate request bodies are accepted compressed.'),
    },
  },
  422: {
    reused: {
      summary: 'The turn id was used with a different body',
      value: error(
        422,
        'IDEMPOTENCY_KEY_REUSED',
        'This request id was already used for a different request; send a new id for a new request.',
      ),
    },
  },
  429: {
    rateLimited: {
      summary: 'Over the rate limit',
      value: error(429, 'RATE_LIMITED', 'Too many requests; retry after the time in Retry-After.'),
    },
  },
  500: {
    internal: {
      summary: 'An internal error',
      value: error(500, 'INTERNAL', 'Internal error. Quote the request id when reporting it.'),
    },
  },
  503: {
    unavailable: {
      summary: 'PostgreSQL cannot serve the request now (a webhook turn: with DEGRADED_MODE=503)',
      value: error(503, 'UNAVAILABLE', 'The service is temporarily unavailable; retry shortly.'),
    },
    replayCheckUnavailable: {
      summary: 'A signed request (Standard Webhooks) whose replay check cannot reach Redis',
      value: error(503, 'UNAVAILABLE', 'The replay check is unavailable; retry shortly.'),
    },
    overloaded: {
      summary: 'The replica is too busy',
      value: error(503, 'OVERLOADED', 'The service is too busy to answer in time; retry shortly.'),
    },
    passwordChecks: {
      summary: 'Too many basic-auth password checks at once',
      value: error(503, 'OVERLOADED', 'Too many password checks at once; retry shortly.'),
    },
  },
};

/** A method a documented path does not serve (e.g. GET /v1/webhooks/generic). */
export const METHOD_NOT_ALLOWED_EXAMPLE = {
  summary: 'A method the path does not serve',
  value: error(405, 'METHOD_NOT_ALLOWED', 'Method not allowed on this endpoint.'),
};
