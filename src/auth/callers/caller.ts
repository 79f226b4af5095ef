import type { Caller, RateLimit } from '../../common/caller';
import type { IpRanges } from '../../common/net/client-address';

/** Authentication methods a caller may use; each has one strategy behind the guard. */
export const AUTH_METHODS = [
  'bearer',
  'mtls',
  'jwt',
  'introspection',
  'googleIdToken',
  'kubernetes',
  'standardWebhooks',
  'headerSignature',
  'basic',
] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** The client certificate a caller must present: any listed identity matches. */
export interface CertificateBinding {
  readonly subjectCNs: readonly string[];
  readonly dnsSANs: readonly string[];
  readonly uriSANs: readonly string[];
}

export interface BearerAuth {
  /** SHA-256 digests of every accepted static token (several during a rotation). */
  readonly tokenDigests: readonly Buffer[];
}

export interface JwtAuth {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUri: string;
  readonly algorithms: readonly string[];
  /** Allowed `sub` values; empty means any subject of this issuer and audience. */
  readonly subjects: readonly string[];
  /** Only RFC 9068 access tokens (`typ: at+jwt`) are accepted. */
  readonly requireAccessTokenType: boolean;
  /** Limit on `exp` ahead of now and on `exp - iat`; absent means the default (24 h). */
  readonly maxLifetimeSeconds?: number;
}

export interface IntrospectionAuth {
  readonly endpoint: string;
  readonly clientId: string;
  /** Our client secrets at the authorisation server; the first is used, the rest are for rotation. */
  readonly clientSecrets: readonly string[];
  readonly audience?: string;
  readonly subjects: readonly string[];
  /** The OAuth clients (`client_id`) whose tokens are this caller's; empty: any client. */
  readonly clientIds: readonly string[];
}

export interface GoogleIdTokenAuth {
  readonly audience: string;
  readonly emails: readonly string[];
  readonly jwksUri: string;
  readonly issuers: readonly string[];
  readonly maxLifetimeSeconds?: number;
}

/** Ask the API server (TokenReview) whether a service-account token is still valid. */
export interface KubernetesTokenReview {
  readonly url: string;
  /** Our own service-account token, sent as the reviewer's credential. */
  readonly tokenFile: string;
  /** CA bundle of the API server's certificate. */
  readonly caFile: string;
}

export interface KubernetesAuth {
  readonly issuer: string;
  readonly audience: string;
  /** `system:serviceaccount:<namespace>:<name>` */
  readonly serviceAccounts: readonly string[];
  /** When absent, found by OIDC discovery on the issuer. */
  readonly jwksUri?: string;
  readonly maxLifetimeSeconds?: number;
  /** When set, every token is also confirmed by a TokenReview (so tokens of deleted pods are refused). */
  readonly tokenReview?: KubernetesTokenReview;
}

export interface SignatureAuth {
  /** Key bytes of every accepted secret (several during a rotation). */
  readonly secrets: readonly Buffer[];
}

export interface HeaderSignatureAuth extends SignatureAuth {
  readonly header: string;
  readonly algorithm: 'sha256' | 'sha512';
  readonly encoding: 'hex' | 'base64';
  readonly prefix: string;
  readonly timestampHeader?: string;
}

export interface BasicAuth {
  readonly username: string;
  /** `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>` */
  readonly passwordHashes: readonly string[];
}

export interface CallerAuth {
  readonly bearer?: BearerAuth;
  readonly mtls?: Record<string, never>;
  readonly jwt?: JwtAuth;
  readonly introspection?: IntrospectionAuth;
  readonly googleIdToken?: GoogleIdTokenAuth;
  readonly kubernetes?: KubernetesAuth;
  readonly standardWebhooks?: SignatureAuth;
  readonly headerSignature?: HeaderSignatureAuth;
  readonly basic?: BasicAuth;
}

/** Where results of async and late work are sent, signed the Standard Webhooks way. */
export interface CallbackTarget {
  readonly url: string;
  /** Signing keys; every one signs each delivery (several during a rotation). */
  readonly secrets: readonly Buffer[];
  /** Lets the URL be http and resolve to loopback/private addresses (local receivers only). */
  readonly allowPrivateNetwork: boolean;
}

/**
 * The operations a caller's `rateLimit.routes` may give a budget of their own: HTTP routes as `METHOD /path`
 * (the path as routed, parameters as `:name`) and gRPC methods as `package.Service/Method`. Every other call of
 * the caller, on any route and either transport, draws from the caller's one budget.
 */
export const RATE_LIMITED_ROUTES = [
  'POST /v1/webhooks/dialogflow-es',
  'POST /v1/webhooks/dialogflow-cx',
  'POST /v1/webhooks/lex-v2',
  'POST /v1/webhooks/rasa',
  'POST /v1/webhooks/generic',
  'GET /v1/webhooks/rasa/health',
  'GET /v1/webhooks/rasa/actions',
  'GET /v1/fulfillments/:id',
  'fulfillment.v1.FulfillmentService/Fulfill',
  'fulfillment.v1.FulfillmentService/HandleWebhook',
] as const;
export type RateLimitedRoute = (typeof RATE_LIMITED_ROUTES)[number];

/** A caller's budget from the callers file, with the routes that have their own counter and budget. */
export interface CallerRateLimit extends RateLimit {
  readonly routes?: ReadonlyMap<string, RateLimit>;
}

/** The budget a call of `route` draws from: its route's own when the caller's `rateLimit.routes` names it. */
export function routeRateLimit(
  rateLimit: CallerRateLimit | undefined,
  route: string,
): { readonly own: true; readonly rateLimit: RateLimit } | { readonly own: false; readonly rateLimit?: RateLimit } {
  const own = rateLimit?.routes?.get(route);
  return own ? { own: true, rateLimit: own } : { own: false, rateLimit };
}

/** A caller as configured in the callers file. */
export interface RegisteredCaller extends Caller {
  readonly auth: CallerAuth;
  readonly certificate?: CertificateBinding;
  readonly rateLimit?: CallerRateLimit;
  readonly callback?: CallbackTarget;
  /** Accepted only from loopback addresses (the built-in local development caller). */
  readonly loopbackOnly?: boolean;
  /** Accepted only from client addresses in these ranges (`sourceRanges` in the callers file). */
  readonly sourceRanges?: IpRanges;
}
