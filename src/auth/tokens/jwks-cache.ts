import { Logger } from '@nestjs/common';
import type { FlattenedJWSInput, JWSHeaderParameters, JWTVerifyGetKey } from 'jose';
import { readJsonUpTo, ResponseTooLargeError } from '../../common/http/capped-response-body';
import { type FetchLike, isErrorNamed, parseHttpUrl } from './http';
import { loadJose } from './jose';

type Jose = Awaited<ReturnType<typeof loadJose>>;
type LocalKeySet = ReturnType<Jose['createLocalJWKSet']>;

/** A JWKS request failed (transport, timeout, status, not a key set); told apart from a bad token. */
export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
}

export interface JwksCacheOptions {
  readonly uri: string;
  /** Minimum time between refetches triggered by an unknown `kid` (and between retries after a failed refresh). */
  readonly cooldownDurationMs: number;
  /** Lifetime of a fetched JWKS whose response has no usable `Cache-Control: max-age`. */
  readonly defaultMaxAgeMs: number;
  /** Bounds applied to the response's `max-age` (and to `no-cache`/`no-store`, which count as the minimum). */
  readonly minMaxAgeMs: number;
  readonly maxMaxAgeMs: number;
  readonly timeoutMs: number;
  readonly fetchImpl?: FetchLike;
  /** Milliseconds clock; for tests. */
  readonly now?: () => number;
}

/** Without usable keys, the set is fetched again at most this often, however many tokens arrive. */
const RETRY_WITHOUT_KEYS_MS = 1000;
/** Real key sets are a few KiB; a longer answer is refused unread rather than held in memory. */
export const MAX_JWKS_BYTES = 1024 * 1024;
const logger = new Logger('Jwks');

/**
 * A remote JWKS kept for as long as its response's `Cache-Control: max-age` (minus `Age`) says, bounded by
 * `[minMaxAgeMs, maxMaxAgeMs]`. An unknown `kid` triggers a refetch at most once per `cooldownDurationMs`;
 * concurrent callers share one request, and only the token with that `kid` waits for it. An expired set stays in
 * use while it is refreshed (stale-while-revalidate); when the refresh fails, the old keys stay in use (retried
 * once per cooldown) for at most `maxMaxAgeMs` after they were fetched, so a JWKS outage does not refuse every
 * token at once. Without usable keys (none yet, or too old) a fetch is tried at most once a second.
 * An answer is read up to {@link MAX_JWKS_BYTES}; a longer one fails the fetch like an outage.
 */
export class JwksCache {
  private readonly url: string;
  private readonly now: () => number;
  private local: LocalKeySet | undefined;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private lifetimeMs = 0;
  private lastAttemptAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<void> | undefined;

  constructor(private readonly options: JwksCacheOptions) {
    this.url = parseHttpUrl(options.uri, 'jwks_uri').href;
    this.now = options.now ?? Date.now;
  }

  /** For `jwtVerify`: the key for this header, refetching the set as described above. */
  readonly getKey: JWTVerifyGetKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    const jose = await loadJose();
    const local = await this.current();
    try {
      return await local(header, token);
    } catch (error) {
      if (!(error instanceof jose.errors.JWKSNoMatchingKey)) throw error;
      if (this.pending) {
        await this.pending.catch(() => undefined);
      } else if (this.now() - this.lastAttemptAt >= this.options.cooldownDurationMs) {
        await this.reload();
      } else {
        throw error;
      }
      return (this.local ?? local)(header, token);
    }
  };

  /**
   * The keys to verify with. Fresh ones answer at once, whatever fetch is in flight (an unknown `kid`, which anyone
   * can send, triggers one: it held every token up to the fetch's timeout). Expired ones that are not too old answer
   * at once too, while a refresh (at most once per cooldown) runs beside them; a failed one leaves them in use. Only
   * without usable keys (none yet, or older than `maxMaxAgeMs`) does a call wait for a fetch.
   */
  private async current(): Promise<LocalKeySet> {
    const now = this.now();
    const local = this.local;
    if (local !== undefined && now < this.fetchedAt + this.lifetimeMs) return local;
    if (local !== undefined && now < this.fetchedAt + this.options.maxMaxAgeMs) {
      if (!this.pending && now - this.lastAttemptAt >= this.options.cooldownDurationMs) {
        this.reload().catch(() => undefined);
      }
      return local;
    }
    // Tokens come from anyone: while the set cannot be had, they are refused at once rather than each one
    // fetching again (a flood of unsigned tokens was a flood of requests to the issuer's endpoint).
    if (!this.pending && now - this.lastAttemptAt < RETRY_WITHOUT_KEYS_MS) {
      throw new JwksUnavailableError(
        local === undefined
          ? 'no JWKS (the last fetch failed)'
          : 'the JWKS is too old to use (the last refresh failed)',
      );
    }
    await this.reload();
    if (this.local === undefined) throw new JwksUnavailableError('no JWKS');
    return this.local;
  }

  private reload(): Promise<void> {
    this.pending ??= this.fetchKeySet().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetchKeySet(): Promise<void> {
    const jose = await loadJose();
    this.lastAttemptAt = this.now();
    const fetchImpl = this.options.fetchImpl ?? fetch;
    let response: Response;
    let body: unknown;
    try {
      response = await fetchImpl(this.url, {
        method: 'GET',
        headers: { accept: 'application/json, application/jwk-set+json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(Math.ceil(this.options.timeoutMs)),
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new JwksUnavailableError(`JWKS answered HTTP ${response.status}`);
      }
      body = await readJsonUpTo(response, MAX_JWKS_BYTES);
    } catch (cause) {
      if (cause instanceof JwksUnavailableError) throw cause;
      if (cause instanceof ResponseTooLargeError) {
        logger.warn(`Refused the JWKS at ${withoutQuery(this.url)}: ${cause.message}; it was not read further`);
        throw new JwksUnavailableError(`JWKS request refused: ${cause.message}`, { cause });
      }
      const what = isErrorNamed(cause, 'TimeoutError') ? 'timed out' : 'failed';
      throw new JwksUnavailableError(`JWKS request ${what}`, { cause });
    }
    let local: LocalKeySet;
    try {
      local = jose.createLocalJWKSet(body as Parameters<Jose['createLocalJWKSet']>[0]);
    } catch (cause) {
      throw new JwksUnavailableError('JWKS response is not a JSON Web Key Set', { cause });
    }
    this.local = local;
    this.fetchedAt = this.now();
    this.lifetimeMs = this.lifetimeOf(response.headers);
  }

  /** Freshness lifetime from `Cache-Control` and `Age` (RFC 9111 §4.2), bounded. */
  private lifetimeOf(headers: Headers): number {
    const { minMaxAgeMs, maxMaxAgeMs, defaultMaxAgeMs } = this.options;
    const directives = (headers.get('cache-control') ?? '').toLowerCase();
    let lifetime = defaultMaxAgeMs;
    if (/(?:^|,)\s*(?:no-store|no-cache)\b/.test(directives)) {
      lifetime = minMaxAgeMs;
    } else {
      const maxAge = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/.exec(directives)?.[1];
      if (maxAge !== undefined) {
        const age = Number(/^\d+$/.exec(headers.get('age')?.trim() ?? '')?.[0] ?? 0);
        lifetime = Math.max(0, Number(maxAge) - age) * 1000;
      }
    }
    return Math.min(maxMaxAgeMs, Math.max(minMaxAgeMs, lifetime));
  }
}

function withoutQuery(url: string): string {
  const { origin, pathname } = new URL(url);
  return `${origin}${pathname}`;
}
