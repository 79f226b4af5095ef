import type { JWTPayload, JWTVerifyOptions, RemoteJWKSet } from 'jose';
import { type FetchLike, isErrorNamed, parseHttpUrl } from './http';
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
  | 'jwks-unavailable'
  | 'inactive'
  | 'introspection-unavailable';

export type TokenVerification =
  { readonly ok: true; readonly claims: JWTPayload } | { readonly ok: false; readonly reason: TokenFailureReason };

export const DEFAULT_ALGORITHMS: readonly string[] = ['RS256', 'ES256', 'PS256', 'EdDSA'];
export const MAX_CLOCK_TOLERANCE_SECONDS = 60;
/** Anything longer is refused as malformed before parsing. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

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
  /** Minimum time between JWKS refetches triggered by an unknown `kid`; default 30 s. */
  readonly cooldownDurationMs?: number;
  /** How long a fetched JWKS is used before it is refetched; default 10 min. */
  readonly cacheMaxAgeMs?: number;
  /** Timeout of one JWKS request; default 5 s. */
  readonly jwksTimeoutMs?: number;
  /** Replaces global `fetch` for JWKS requests (the same function is not used for discovery). */
  readonly fetchImpl?: FetchLike;
}

/** Thrown by our fetch wrapper so a transport failure is told apart from a bad token. */
class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
}

/**
 * Verifies JWTs signed by keys from a remote JWKS. The key set is cached (`cacheMaxAgeMs`), refetched
 * when a token names an unknown `kid`, and such refetches are rate-limited (`cooldownDurationMs`);
 * concurrent refetches share one request. `verify` never throws for a bad token.
 */
export class JwtVerifier {
  private readonly issuer: string | string[];
  private readonly audience: string | string[];
  private readonly algorithms: string[];
  private readonly clockToleranceSeconds: number;
  private readonly requiredClaims: string[];
  private readonly jwksUri: string | (() => Promise<string>);
  private readonly cooldownDurationMs: number;
  private readonly cacheMaxAgeMs: number;
  private readonly jwksTimeoutMs: number;
  private readonly fetchImpl: FetchLike | undefined;
  private keySet: Promise<RemoteJWKSet> | undefined;

  constructor(options: JwtVerifierOptions) {
    this.issuer = nonEmptyStrings(options.issuer, 'issuer');
    this.audience = nonEmptyStrings(options.audience, 'audience');
    this.algorithms = checkAlgorithms(options.algorithms ?? DEFAULT_ALGORITHMS);
    const tolerance = options.clockToleranceSeconds;
    if (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > MAX_CLOCK_TOLERANCE_SECONDS) {
      throw new Error(`JwtVerifier: clockToleranceSeconds must be between 0 and ${MAX_CLOCK_TOLERANCE_SECONDS}`);
    }
    this.clockToleranceSeconds = tolerance;
    this.requiredClaims = [...new Set(['exp', ...(options.requiredClaims ?? [])])];
    if (typeof options.jwksUri === 'string') parseHttpUrl(options.jwksUri, 'JwtVerifier: jwksUri');
    this.jwksUri = options.jwksUri;
    this.cooldownDurationMs = duration(options.cooldownDurationMs, 30_000, 'cooldownDurationMs');
    this.cacheMaxAgeMs = duration(options.cacheMaxAgeMs, 10 * 60_000, 'cacheMaxAgeMs');
    this.jwksTimeoutMs = Math.ceil(duration(options.jwksTimeoutMs, 5_000, 'jwksTimeoutMs'));
    this.fetchImpl = options.fetchImpl;
  }

  async verify(token: string): Promise<TokenVerification> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      return failure('malformed');
    }
    const jose = await loadJose();
    let keySet: RemoteJWKSet;
    try {
      keySet = await this.getKeySet(jose);
    } catch {
      return failure('jwks-unavailable');
    }
    try {
      const { payload } = await jose.jwtVerify(token, keySet, this.verifyOptions());
      return { ok: true, claims: payload };
    } catch (error) {
      return failure(classify(jose, error));
    }
  }

  private verifyOptions(): JWTVerifyOptions {
    return {
      issuer: this.issuer,
      audience: this.audience,
      algorithms: this.algorithms,
      clockTolerance: this.clockToleranceSeconds,
      requiredClaims: this.requiredClaims,
    };
  }

  /** One RemoteJWKSet per verifier; a failed URI resolution is forgotten so the next call retries. */
  private getKeySet(jose: Jose): Promise<RemoteJWKSet> {
    this.keySet ??= this.createKeySet(jose).catch((error: unknown) => {
      this.keySet = undefined;
      throw error;
    });
    return this.keySet;
  }

  private async createKeySet(jose: Jose): Promise<RemoteJWKSet> {
    const uri = typeof this.jwksUri === 'string' ? this.jwksUri : await this.jwksUri();
    const fetchImpl = this.fetchImpl ?? fetch;
    return jose.createRemoteJWKSet(parseHttpUrl(uri, 'jwks_uri'), {
      cooldownDuration: this.cooldownDurationMs,
      cacheMaxAge: this.cacheMaxAgeMs,
      timeoutDuration: this.jwksTimeoutMs,
      [jose.customFetch]: (url, init) =>
        fetchImpl(url, init).catch((cause: unknown) => {
          // jose turns a TimeoutError into ERR_JWKS_TIMEOUT itself.
          if (isErrorNamed(cause, 'TimeoutError')) throw cause;
          throw new JwksUnavailableError('JWKS request failed', { cause });
        }),
    });
  }
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

function checkAlgorithms(algorithms: readonly string[]): string[] {
  if (algorithms.length === 0) throw new Error('JwtVerifier: algorithms must not be empty');
  for (const alg of algorithms) {
    if (alg.toLowerCase() === 'none' || /^hs/i.test(alg)) {
      throw new Error(
        `JwtVerifier: algorithm ${JSON.stringify(alg)} is not allowed; "none" accepts unsigned tokens and HS* ` +
          'would let anyone holding the (public) verification key mint tokens by using it as an HMAC secret',
      );
    }
    if (!ASYMMETRIC_ALGORITHMS.has(alg)) {
      throw new Error(`JwtVerifier: unknown algorithm ${JSON.stringify(alg)}`);
    }
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
