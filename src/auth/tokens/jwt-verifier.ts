import type { JWTHeaderParameters, JWTPayload, JWTVerifyOptions } from 'jose';
import { type FetchLike, parseHttpUrl } from './http';
import { JwksCache, JwksUnavailableError } from './jwks-cache';
import { loadJose } from './jose';

type Jose = Awaited<ReturnType<typeof loadJose>>;

/** Why a token was refused; stable codes for logs and audit rows. */
export type TokenFailureReason =
  | 'malformed'
  | 'alg-not-allowed'
  | 'unknown-kid'
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'missing-claim'
  | 'issued-in-future'
  | 'lifetime-too-long'
  | 'wrong-token-type'
  | 'jwks-unavailable'
  | 'inactive'
  | 'introspection-unavailable';

export type TokenVerification =
  { readonly ok: true; readonly claims: JWTPayload } | { readonly ok: false; readonly reason: TokenFailureReason };

export const DEFAULT_ALGORITHMS: readonly string[] = ['RS256', 'ES256', 'PS256', 'EdDSA'];
export const MAX_CLOCK_TOLERANCE_SECONDS = 60;
/** Default limit on how far ahead `exp` may lie (and on `exp - iat`). */
export const DEFAULT_MAX_LIFETIME_SECONDS = 24 * 60 * 60;
/** Upper bound of `maxLifetimeSeconds`. */
export const MAX_MAX_LIFETIME_SECONDS = 30 * 24 * 60 * 60;
/** Anything longer is refused as malformed before parsing. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * What a token must be, told by its `typ` header (RFC 8725 §3.11) and claims:
 * - `access`: an OAuth2 access token. `typ` absent, `JWT` or `at+jwt`; an OpenID Connect ID token (one
 *   carrying `nonce`, `at_hash`, `c_hash` or `s_hash`) and any other explicit type are refused.
 * - `rfc9068-access`: an RFC 9068 access token: `typ` must be `at+jwt` (or `application/at+jwt`), `iat` and
 *   `sub` are required (RFC 9068 §2.2, §4).
 * - `identity`: an identity token (Google ID token, Kubernetes service-account token): `typ` absent or `JWT`;
 *   an access token (`at+jwt`) and any other explicit type are refused.
 */
export type ExpectedTokenKind = 'access' | 'rfc9068-access' | 'identity';

/** Claims only OpenID Connect ID tokens carry (OIDC Core §2, §3.3.2.11, FAPI `s_hash`). */
const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash', 's_hash'] as const;

/** Asymmetric JWS algorithms jose can verify against a JWKS. */
const ASYMMETRIC_ALGORITHMS: ReadonlySet<string> = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'ML-DSA-44',
  'ML-DSA-65',
  'ML-DSA-87',
]);

export interface JwtVerifierOptions {
  /** Accepted `iss` value(s). */
  readonly issuer: string | readonly string[];
  /** Accepted `aud` value(s); the token must name at least one. */
  readonly audience: string | readonly string[];
  /** The JWKS URL, or a function resolving it (e.g. OIDC discovery); a rejected resolution is retried on the next call. */
  readonly jwksUri: string | (() => Promise<string>);
  /** Allowlist of `alg` values; default {@link DEFAULT_ALGORITHMS}. `none` and HS* are refused. */
  readonly algorithms?: readonly string[];
  /** Leeway for `exp`/`nbf`, 0..60. */
  readonly clockToleranceSeconds: number;
  /** Claims that must be present; `exp` is always required. */
  readonly requiredClaims?: readonly string[];
  /** Default `access`; see {@link ExpectedTokenKind}. */
  readonly expectedKind?: ExpectedTokenKind;
  /**
   * `exp` may lie at most this far ahead (plus the clock tolerance), and `exp - iat` may not exceed it;
   * default {@link DEFAULT_MAX_LIFETIME_SECONDS}, at most {@link MAX_MAX_LIFETIME_SECONDS}.
   */
  readonly maxLifetimeSeconds?: number;
  /** Minimum time between JWKS refetches triggered by an unknown `kid`; default 30 s. */
  readonly cooldownDurationMs?: number;
  /** How long a fetched JWKS is used when its response has no `Cache-Control: max-age`; default 10 min. */
  readonly cacheMaxAgeMs?: number;
  /** Bounds on the JWKS response's own `max-age`; default 1 min and 24 h. */
  readonly minCacheMaxAgeMs?: number;
  readonly maxCacheMaxAgeMs?: number;
  /** Timeout of one JWKS request; default 5 s. */
  readonly jwksTimeoutMs?: number;
  /** Replaces global `fetch` for JWKS requests (the same function is not used for discovery). */
  readonly fetchImpl?: FetchLike;
  /** Milliseconds clock for claim checks and the JWKS cache; for tests. */
  readonly now?: () => number;
}

/**
 * Verifies JWTs signed by keys from a remote JWKS ({@link JwksCache}: kept for the response's bounded
 * `max-age`, refetched for an unknown `kid` at most once per `cooldownDurationMs`). Beyond signature, `iss`,
 * `aud`, `exp` and `nbf` it refuses an `iat` in the future, a lifetime over `maxLifetimeSeconds`, and a
 * token of the wrong kind ({@link ExpectedTokenKind}). `verify` never throws for a bad token.
 */
export class JwtVerifier {
  private readonly issuer: string | string[];
  private readonly audience: string | string[];
  private readonly algorithms: string[];
  private readonly clockToleranceSeconds: number;
  private readonly requiredClaims: string[];
  private readonly jwksUri: string | (() => Promise<string>);
  private readonly expectedKind: ExpectedTokenKind;
  private readonly maxLifetimeSeconds: number;
  private readonly cooldownDurationMs: number;
  private readonly cacheMaxAgeMs: number;
  private readonly minCacheMaxAgeMs: number;
  private readonly maxCacheMaxAgeMs: number;
  private readonly jwksTimeoutMs: number;
  private readonly fetchImpl: FetchLike | undefined;
  private readonly now: () => number;
  private keySet: Promise<JwksCache> | undefined;

  constructor(options: JwtVerifierOptions) {
    this.issuer = nonEmptyStrings(options.issuer, 'issuer');
    this.audience = nonEmptyStrings(options.audience, 'audience');
    this.algorithms = checkAlgorithms(options.algorithms ?? DEFAULT_ALGORITHMS);
    const tolerance = options.clockToleranceSeconds;
    if (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > MAX_CLOCK_TOLERANCE_SECONDS) {
      throw new Error(`JwtVerifier: clockToleranceSeconds must be between 0 and ${MAX_CLOCK_TOLERANCE_SECONDS}`);
    }
    this.clockToleranceSeconds = tolerance;
    this.expectedKind = options.expectedKind ?? 'access';
    const kindClaims = this.expectedKind === 'rfc9068-access' ? ['iat', 'sub'] : [];
    this.requiredClaims = [...new Set(['exp', ...kindClaims, ...(options.requiredClaims ?? [])])];
    const lifetime = options.maxLifetimeSeconds ?? DEFAULT_MAX_LIFETIME_SECONDS;
    if (!Number.isFinite(lifetime) || lifetime <= 0 || lifetime > MAX_MAX_LIFETIME_SECONDS) {
      throw new Error(`JwtVerifier: maxLifetimeSeconds must be between 1 and ${MAX_MAX_LIFETIME_SECONDS}`);
    }
    this.maxLifetimeSeconds = lifetime;
    if (typeof options.jwksUri === 'string') parseHttpUrl(options.jwksUri, 'JwtVerifier: jwksUri');
    this.jwksUri = options.jwksUri;
    this.cooldownDurationMs = duration(options.cooldownDurationMs, 30_000, 'cooldownDurationMs');
    this.cacheMaxAgeMs = duration(options.cacheMaxAgeMs, 10 * 60_000, 'cacheMaxAgeMs');
    this.minCacheMaxAgeMs = duration(options.minCacheMaxAgeMs, 60_000, 'minCacheMaxAgeMs');
    this.maxCacheMaxAgeMs = duration(options.maxCacheMaxAgeMs, 24 * 60 * 60_000, 'maxCacheMaxAgeMs');
    if (this.minCacheMaxAgeMs > this.maxCacheMaxAgeMs) {
      throw new Error('JwtVerifier: minCacheMaxAgeMs must not exceed maxCacheMaxAgeMs');
    }
    this.jwksTimeoutMs = Math.ceil(duration(options.jwksTimeoutMs, 5_000, 'jwksTimeoutMs'));
    this.fetchImpl = options.fetchImpl;
    this.now = options.now ?? Date.now;
  }

  async verify(token: string): Promise<TokenVerification> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      return failure('malformed');
    }
    const jose = await loadJose();
    let keySet: JwksCache;
    try {
      keySet = await this.getKeySet();
    } catch {
      return failure('jwks-unavailable');
    }
    const nowMs = this.now();
    let payload: JWTPayload;
    let header: JWTHeaderParameters;
    try {
      ({ payload, protectedHeader: header } = await jose.jwtVerify(token, keySet.getKey, this.verifyOptions(nowMs)));
    } catch (error) {
      return failure(classify(jose, error));
    }
    const refused = this.checkTimes(payload, nowMs / 1000) ?? this.checkKind(header, payload);
    return refused ? failure(refused) : { ok: true, claims: payload };
  }

  private verifyOptions(nowMs: number): JWTVerifyOptions {
    return {
      issuer: this.issuer,
      audience: this.audience,
      algorithms: this.algorithms,
      clockTolerance: this.clockToleranceSeconds,
      requiredClaims: this.requiredClaims,
      currentDate: new Date(nowMs),
    };
  }

  /** jose has checked `exp`/`nbf` and that `iat` is a number; it checks a future `iat` only with `maxTokenAge`. */
  private checkTimes(payload: JWTPayload, now: number): TokenFailureReason | undefined {
    const { iat, exp } = payload;
    if (iat !== undefined && iat > now + this.clockToleranceSeconds) return 'issued-in-future';
    if (exp === undefined) return 'missing-claim';
    if (exp > now + this.maxLifetimeSeconds + this.clockToleranceSeconds) return 'lifetime-too-long';
    if (iat !== undefined && exp - iat > this.maxLifetimeSeconds) return 'lifetime-too-long';
    return undefined;
  }

  private checkKind(header: JWTHeaderParameters, payload: JWTPayload): TokenFailureReason | undefined {
    // A signed header may still carry any JSON value: a `typ` that is not a string names no type at all.
    if (header.typ !== undefined && typeof header.typ !== 'string') return 'wrong-token-type';
    const typ = header.typ === undefined ? undefined : normalizeTyp(header.typ);
    switch (this.expectedKind) {
      case 'rfc9068-access':
        return typ === 'at+jwt' ? undefined : 'wrong-token-type';
      case 'access':
        if (typ !== undefined && typ !== 'jwt' && typ !== 'at+jwt') return 'wrong-token-type';
        return ID_TOKEN_CLAIMS.some((claim) => payload[claim] !== undefined) ? 'wrong-token-type' : undefined;
      case 'identity':
        return typ === undefined || typ === 'jwt' ? undefined : 'wrong-token-type';
    }
  }

  /** One JwksCache per verifier; a failed URI resolution is forgotten so the next call retries. */
  private getKeySet(): Promise<JwksCache> {
    this.keySet ??= this.createKeySet().catch((error: unknown) => {
      this.keySet = undefined;
      throw error;
    });
    return this.keySet;
  }

  private async createKeySet(): Promise<JwksCache> {
    const uri = typeof this.jwksUri === 'string' ? this.jwksUri : await this.jwksUri();
    return new JwksCache({
      uri: parseHttpUrl(uri, 'jwks_uri').href,
      cooldownDurationMs: this.cooldownDurationMs,
      defaultMaxAgeMs: this.cacheMaxAgeMs,
      minMaxAgeMs: this.minCacheMaxAgeMs,
      maxMaxAgeMs: this.maxCacheMaxAgeMs,
      timeoutMs: this.jwksTimeoutMs,
      fetchImpl: this.fetchImpl,
      now: this.now,
    });
  }
}

/** Media-type comparison of `typ` (RFC 7515 §4.1.9): case-insensitive, `application/` optional. */
function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

function failure(reason: TokenFailureReason): TokenVerification {
  return { ok: false, reason };
}

/** Maps a jose (or transport) error from `jwtVerify` to a reason. */
function classify(jose: Jose, error: unknown): TokenFailureReason {
  if (error instanceof JwksUnavailableError) return 'jwks-unavailable';
  const { errors } = jose;
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return 'missing-claim';
    if (error.reason === 'invalid') return 'malformed';
    switch (error.claim) {
      case 'iss':
        return 'wrong-issuer';
      case 'aud':
        return 'wrong-audience';
      case 'nbf':
        return 'not-yet-valid';
      case 'exp':
        return 'expired';
      default:
        return 'malformed';
    }
  }
  if (!(error instanceof errors.JOSEError)) return 'malformed';
  switch (error.code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'alg-not-allowed';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad-signature';
    // MULTIPLE_MATCHING_KEYS: no kid and several candidate keys, so we cannot tell which was meant.
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'unknown-kid';
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
    case 'ERR_JWK_INVALID':
    case 'ERR_JOSE_GENERIC': // jose's base JOSEError: a non-200 or non-JSON JWKS response.
      return 'jwks-unavailable';
    default:
      // ERR_JWS_INVALID, ERR_JWT_INVALID, ERR_JOSE_NOT_SUPPORTED, …
      return 'malformed';
  }
}

/** Why a JWS algorithm name cannot be configured, or undefined when it can (names are case-sensitive, as in JWS). */
export function jwtAlgorithmProblem(alg: string): string | undefined {
  if (alg.toLowerCase() === 'none' || /^hs/i.test(alg)) {
    return (
      `algorithm ${JSON.stringify(alg)} is not allowed; "none" accepts unsigned tokens and HS* ` +
      'would let anyone holding the (public) verification key mint tokens by using it as an HMAC secret'
    );
  }
  if (!ASYMMETRIC_ALGORITHMS.has(alg)) {
    return `unknown algorithm ${JSON.stringify(alg)} (one of ${[...ASYMMETRIC_ALGORITHMS].join(', ')})`;
  }
  return undefined;
}

function checkAlgorithms(algorithms: readonly string[]): string[] {
  if (algorithms.length === 0) throw new Error('JwtVerifier: algorithms must not be empty');
  for (const alg of algorithms) {
    const problem = jwtAlgorithmProblem(alg);
    if (problem) throw new Error(`JwtVerifier: ${problem}`);
  }
  return [...new Set(algorithms)];
}

function nonEmptyStrings(value: string | readonly string[], name: string): string | string[] {
  const list = typeof value === 'string' ? [value] : [...value];
  if (list.length === 0 || list.some((item) => typeof item !== 'string' || item.length === 0)) {
    throw new Error(`JwtVerifier: ${name} must be a non-empty string or a non-empty list of them`);
  }
  return typeof value === 'string' ? value : list;
}

function duration(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new Error(`JwtVerifier: ${name} must be a non-negative number`);
  return value;
}
