import type { FetchLike } from './http';
import { JwtVerifier } from './jwt-verifier';
import { OidcDiscovery } from './oidc-discovery';

export const GOOGLE_ISSUERS: readonly string[] = ['https://accounts.google.com', 'accounts.google.com'];
export const GOOGLE_JWKS_URI = 'https://www.googleapis.com/oauth2/v3/certs';
export const DEFAULT_IDENTITY_CLOCK_TOLERANCE_SECONDS = 30;

/** Verified claims: jose's `JWTPayload` or any plain record. */
export type Claims = Readonly<Record<string, unknown>>;

export type IdentityFailureReason = 'identity-not-allowed' | 'email-not-verified' | 'not-a-service-account';

export type IdentityCheck =
  { readonly ok: true; readonly subject: string } | { readonly ok: false; readonly reason: IdentityFailureReason };

/** JWKS tuning shared by both helpers; mostly for tests. */
export interface JwksTuning {
  readonly clockToleranceSeconds?: number;
  /** Limit on `exp` ahead of now and on `exp - iat`; default 24 h. */
  readonly maxLifetimeSeconds?: number;
  readonly cooldownDurationMs?: number;
  readonly cacheMaxAgeMs?: number;
  readonly jwksTimeoutMs?: number;
  readonly fetchImpl?: FetchLike;
}

export interface GoogleIdTokenVerifierOptions extends JwksTuning {
  /** The audience Google put in the token: for Dialogflow, the configured webhook URL. */
  readonly audience: string | readonly string[];
  /** Default {@link GOOGLE_JWKS_URI}; overridable for tests. */
  readonly jwksUri?: string;
}

/** Verifier for Google-signed ID tokens (e.g. Dialogflow's service agent). Follow with {@link checkGoogleIdentity}. */
export function createGoogleIdTokenVerifier(options: GoogleIdTokenVerifierOptions): JwtVerifier {
  return new JwtVerifier({
    ...options,
    issuer: GOOGLE_ISSUERS,
    jwksUri: options.jwksUri ?? GOOGLE_JWKS_URI,
    algorithms: ['RS256'],
    expectedKind: 'identity',
    clockToleranceSeconds: options.clockToleranceSeconds ?? DEFAULT_IDENTITY_CLOCK_TOLERANCE_SECONDS,
  });
}

/**
 * The verified token's `email` must be in `allowedEmails` (exact, case-sensitive match) and
 * `email_verified` must be the boolean `true`. The subject is the email.
 */
export function checkGoogleIdentity(
  claims: Claims,
  allowedEmails: ReadonlySet<string> | readonly string[],
): IdentityCheck {
  const { email } = claims;
  if (typeof email !== 'string' || !includes(allowedEmails, email))
    return { ok: false, reason: 'identity-not-allowed' };
  if (claims.email_verified !== true) return { ok: false, reason: 'email-not-verified' };
  return { ok: true, subject: email };
}

export interface KubernetesTokenVerifierOptions extends JwksTuning {
  /** The cluster's service-account issuer, e.g. `https://kubernetes.default.svc.cluster.local`. */
  readonly issuer: string;
  /** The audience the pod requested in its projected token. */
  readonly audience: string | readonly string[];
  /** Default RS256 and ES256, what kube-apiserver signs with. */
  readonly algorithms?: readonly string[];
  /** Shared discovery cache; default a private one using `fetchImpl`. */
  readonly discovery?: OidcDiscovery;
}

/**
 * Verifier for Kubernetes projected service-account tokens; the JWKS location comes from the
 * issuer's OIDC discovery document (fetched on first use, retried after failure). Follow with
 * {@link checkKubernetesIdentity}.
 */
export function createKubernetesTokenVerifier(options: KubernetesTokenVerifierOptions): JwtVerifier {
  const { issuer, discovery: shared, ...rest } = options;
  const discovery = shared ?? new OidcDiscovery({ fetchImpl: options.fetchImpl });
  return new JwtVerifier({
    ...rest,
    issuer,
    jwksUri: () => discovery.jwksUri(issuer),
    algorithms: options.algorithms ?? ['RS256', 'ES256'],
    expectedKind: 'identity',
    clockToleranceSeconds: options.clockToleranceSeconds ?? DEFAULT_IDENTITY_CLOCK_TOLERANCE_SECONDS,
  });
}

const DNS_LABEL = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';
const DNS_SUBDOMAIN = `${DNS_LABEL}(?:\\.${DNS_LABEL})*`;
const SERVICE_ACCOUNT_SUBJECT = new RegExp(`^system:serviceaccount:(${DNS_LABEL}):(${DNS_SUBDOMAIN})$`);

/** `system:serviceaccount:<namespace>:<name>`, the `sub` of a service-account token. */
export function kubernetesServiceAccountSubject(namespace: string, name: string): string {
  const subject = `system:serviceaccount:${namespace}:${name}`;
  if (!SERVICE_ACCOUNT_SUBJECT.test(subject)) {
    throw new Error(
      `Not a valid service account: namespace ${JSON.stringify(namespace)}, name ${JSON.stringify(name)}`,
    );
  }
  return subject;
}

/** `sub` must be a service account (`system:serviceaccount:<ns>:<name>`) listed in `allowedServiceAccounts`. */
export function checkKubernetesIdentity(
  claims: Claims,
  allowedServiceAccounts: ReadonlySet<string> | readonly string[],
): IdentityCheck {
  const { sub } = claims;
  if (typeof sub !== 'string' || !SERVICE_ACCOUNT_SUBJECT.test(sub))
    return { ok: false, reason: 'not-a-service-account' };
  if (!includes(allowedServiceAccounts, sub)) return { ok: false, reason: 'identity-not-allowed' };
  return { ok: true, subject: sub };
}

function includes(list: ReadonlySet<string> | readonly string[], value: string): boolean {
  return 'has' in list ? list.has(value) : list.includes(value);
}
