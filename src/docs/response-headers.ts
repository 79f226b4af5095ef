import type { HeaderObject, HeadersObject, ReferenceObject, ResponseObject } from '@nestjs/swagger';

/** Names of the response headers in the document (components.headers), as the service sends them. */
export const RESPONSE_HEADER = {
  requestId: 'X-Request-Id',
  rateLimitPolicy: 'RateLimit-Policy',
  rateLimit: 'RateLimit',
  retryAfter: 'Retry-After',
  wwwAuthenticate: 'WWW-Authenticate',
  allow: 'Allow',
  idempotentReplayed: 'Idempotent-Replayed',
} as const;

/** An RFC 9651 sf-string (the policy name) followed by integer parameters, as rate-limit-headers.ts writes them. */
const RATE_LIMIT_ITEM = (parameters: string) => `^"(?:[^"\\\\]|\\\\.)*"${parameters}$`;

/** components.headers: what each header carries and when it is sent. */
export const RESPONSE_HEADERS: Readonly<Record<string, HeaderObject>> = {
  [RESPONSE_HEADER.requestId]: {
    description:
      "The request's id, on every answer: the caller's own X-Request-Id when it is 1 to 128 of `A-Za-z0-9._:-`, " +
      'else a new UUID. Error bodies carry it as requestId.',
    required: true,
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
    example: '3f1c6f0e-8c1e-4d7a-9b59-2a8f0d7c5e41',
  },
  [RESPONSE_HEADER.rateLimitPolicy]: {
    description:
      "The caller's budget (draft-ietf-httpapi-ratelimit-headers): quota `q` per window `w` seconds, named `default` " +
      'or, for a route with its own budget, by the route. On every answer once the caller is authenticated, and on a ' +
      '429 (the per-address limit names its policy `preauth`).',
    schema: { type: 'string', pattern: RATE_LIMIT_ITEM(';q=\\d+;w=\\d+') },
    example: '"default";q=600;w=60',
  },
  [RESPONSE_HEADER.rateLimit]: {
    description:
      'Where the caller stands in that budget: `r` requests remaining, `t` seconds until it is restored. Sent with ' +
      'RateLimit-Policy, except while the shared counter store (Redis) cannot be reached and calls go uncounted.',
    schema: { type: 'string', pattern: RATE_LIMIT_ITEM(';r=\\d+;t=\\d+') },
    example: '"default";r=42;t=17',
  },
  [RESPONSE_HEADER.retryAfter]: {
    description: 'Seconds to wait before trying again.',
    required: true,
    schema: { type: 'integer', minimum: 1 },
    example: 1,
  },
  [RESPONSE_HEADER.wwwAuthenticate]: {
    description: 'The bearer challenge (RFC 6750); `error="invalid_token"` when the request sent a bearer token.',
    required: true,
    schema: { type: 'string', pattern: '^Bearer realm="[^"]*"(?:, error="invalid_token")?$' },
    example: 'Bearer realm="webhook-fulfillment", error="invalid_token"',
  },
  [RESPONSE_HEADER.allow]: {
    description: 'The methods the path does serve.',
    required: true,
    schema: { type: 'string', pattern: '^[A-Z]+(?:, [A-Z]+)*$' },
    example: 'POST',
  },
  [RESPONSE_HEADER.idempotentReplayed]: {
    description: 'The answer stored for an earlier delivery of the same turn, sent again instead of running it twice.',
    schema: { type: 'string', enum: ['true'] },
  },
};

const ref = (name: string): ReferenceObject => ({ $ref: `#/components/headers/${name}` });

/** What the headers of a route's answers depend on. */
export interface HeaderRoute {
  /** Behind the caller's authentication and rate limit (`CallerRequired`). */
  guarded: boolean;
  /** Takes a platform's webhook body (whose turns can be replayed). */
  turns: boolean;
}

/**
 * The statuses a guarded route answers before its caller is authenticated and counted (the body reader, the
 * authentication, the platform check): these never carry the caller's RateLimit fields.
 */
const BEFORE_THE_RATE_LIMIT: ReadonlySet<number> = new Set([401, 403, 405, 413, 415]);

/** The headers an answer with `status` can carry, as references to components.headers. */
export function responseHeaders(status: number, route: HeaderRoute): HeadersObject {
  const names: string[] = [RESPONSE_HEADER.requestId];
  if (route.guarded && !BEFORE_THE_RATE_LIMIT.has(status)) {
    names.push(RESPONSE_HEADER.rateLimitPolicy, RESPONSE_HEADER.rateLimit);
  }
  if (status === 409 || status === 429 || status === 503) names.push(RESPONSE_HEADER.retryAfter);
  if (status === 401) names.push(RESPONSE_HEADER.wwwAuthenticate);
  if (status === 405) names.push(RESPONSE_HEADER.allow);
  if (status === 200 && route.turns) names.push(RESPONSE_HEADER.idempotentReplayed);
  return Object.fromEntries(names.map((name) => [name, ref(name)]));
}

/** Adds the headers `status` can carry to a response, keeping any the route describes itself. */
export function addResponseHeaders(response: ResponseObject, status: number, route: HeaderRoute): void {
  response.headers = { ...responseHeaders(status, route), ...response.headers };
}
