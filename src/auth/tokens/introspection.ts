import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { readJsonUpTo, ResponseTooLargeError } from '../../common/http/capped-response-body';
import { type FetchLike, isRecord, parseHttpUrl } from './http';
import type { TokenFailureReason } from './jwt-verifier';

/** What an active token's introspection response told us (RFC 7662 section 2.2). */
export interface IntrospectionClaims {
  readonly active: true;
  readonly sub?: string;
  readonly client_id?: string;
  readonly exp?: number;
  readonly aud?: string | readonly string[];
  readonly iss?: string;
  readonly scope?: string;
  /** `scope` split on spaces. */
  readonly scopes: readonly string[];
}

/**
 * `introspection-throttled`: the token was not looked up because this endpoint's outbound budget
 * (`maxCallsPerSecond`, `maxBurst`, `maxConcurrent`) was spent; never cached.
 */
export type IntrospectionFailureReason = TokenFailureReason | 'introspection-throttled';

export type IntrospectionResult =
  | { readonly ok: true; readonly claims: IntrospectionClaims }
  | { readonly ok: false; readonly reason: IntrospectionFailureReason };

export interface TokenIntrospectorOptions {
  /** The authorization server's introspection endpoint. */
  readonly endpoint: string;
  /** Our client credentials, sent with HTTP Basic authentication. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** How long an active result is reused (never beyond the token's `exp`); keep short, e.g. 30. */
  readonly cacheSeconds: number;
  /** Timeout of one introspection request. */
  readonly timeoutMs: number;
  /** When set, `aud` must be or contain it. */
  readonly expectedAudience?: string;
  /** When set, `iss` must equal it. */
  readonly expectedIssuer?: string;
  /** How long an inactive (or otherwise refused) result is reused; default 30. */
  readonly negativeCacheSeconds?: number;
  /** Cache size bound; the oldest entries are dropped first. Default 10 000. */
  readonly maxCacheEntries?: number;
  /** Outbound budget (token bucket): lookups per second on average; default 10. */
  readonly maxCallsPerSecond?: number;
  /** Outbound budget: lookups allowed at once after a quiet period; default 20. */
  readonly maxBurst?: number;
  /** Outbound budget: lookups in flight at one time; default 8. */
  readonly maxConcurrent?: number;
  readonly fetchImpl?: FetchLike;
  /** Milliseconds clock; for tests. */
  readonly now?: () => number;
}

interface CacheEntry {
  readonly result: IntrospectionResult;
  readonly expiresAt: number;
}

/** The server could not give us an answer; never cached. */
const UNAVAILABLE: IntrospectionResult = { ok: false, reason: 'introspection-unavailable' };
/** The outbound budget is spent; never cached. */
const THROTTLED: IntrospectionResult = { ok: false, reason: 'introspection-throttled' };
const MAX_TOKEN_LENGTH = 16 * 1024;
/** An introspection answer is a few claims; a longer one is refused unread rather than held in memory. */
export const MAX_INTROSPECTION_BYTES = 256 * 1024;
const logger = new Logger('TokenIntrospection');

/**
 * RFC 7662 token introspection client. Results are cached under the SHA-256 of the token (the token
 * itself is never stored): active ones for `cacheSeconds` but never past their `exp`, refused ones for
 * `negativeCacheSeconds`, in one bounded map. Concurrent lookups of one token share one request, and
 * transport failures, timeouts, non-200 answers and answers longer than {@link MAX_INTROSPECTION_BYTES} are
 * reported as `introspection-unavailable` without being cached. `introspect` never throws.
 *
 * The negative cache cannot stop a flood of distinct random tokens (each is a new key), so every
 * lookup that would go out also spends from an outbound budget of this endpoint: a token bucket
 * (`maxCallsPerSecond`, `maxBurst`) and a cap on lookups in flight (`maxConcurrent`). A lookup over
 * budget is refused as `introspection-throttled` without a call. Cached tokens never spend, so callers
 * whose tokens are already known keep working during a flood; only tokens seen for the first time wait.
 */
export class TokenIntrospector {
  private readonly endpoint: string;
  /** The endpoint without its query, for logs. */
  private readonly where: string;
  private readonly authorization: string;
  private readonly cacheMs: number;
  private readonly negativeCacheMs: number;
  private readonly timeoutMs: number;
  private readonly maxCacheEntries: number;
  private readonly expectedAudience: string | undefined;
  private readonly expectedIssuer: string | undefined;
  private readonly fetchImpl: FetchLike;
  private readonly now: () => number;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<IntrospectionResult>>();
  private readonly refillPerMs: number;
  private readonly maxBurst: number;
  private readonly maxConcurrent: number;
  private budget: number;
  private budgetAt: number;

  constructor(options: TokenIntrospectorOptions) {
    const endpoint = parseHttpUrl(options.endpoint, 'TokenIntrospector: endpoint');
    this.endpoint = endpoint.href;
    this.where = `${endpoint.origin}${endpoint.pathname}`;
    if (options.clientId.length === 0) throw new Error('TokenIntrospector: clientId must not be empty');
    this.authorization = `Basic ${Buffer.from(
      `${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`,
      'utf8',
    ).toString('base64')}`;
    this.cacheMs = seconds(options.cacheSeconds, 'cacheSeconds') * 1000;
    this.negativeCacheMs = seconds(options.negativeCacheSeconds ?? 30, 'negativeCacheSeconds') * 1000;
    if (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new Error('TokenIntrospector: timeoutMs must be a positive integer');
    }
    this.timeoutMs = options.timeoutMs;
    this.maxCacheEntries = options.maxCacheEntries ?? 10_000;
    if (!Number.isInteger(this.maxCacheEntries) || this.maxCacheEntries < 0) {
      throw new Error('TokenIntrospector: maxCacheEntries must be a non-negative integer');
    }
    this.expectedAudience = options.expectedAudience;
    this.expectedIssuer = options.expectedIssuer;
    this.fetchImpl = options.fetchImpl ?? fetch;
    this.now = options.now ?? Date.now;
    this.refillPerMs = positive(options.maxCallsPerSecond ?? 10, 'maxCallsPerSecond') / 1000;
    this.maxBurst = positiveInteger(options.maxBurst ?? 20, 'maxBurst');
    this.maxConcurrent = positiveInteger(options.maxConcurrent ?? 8, 'maxConcurrent');
    this.budget = this.maxBurst;
    this.budgetAt = this.now();
  }

  async introspect(token: string): Promise<IntrospectionResult> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      return { ok: false, reason: 'malformed' };
    }
    const key = createHash('sha256').update(token, 'utf8').digest('base64url');
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      if (cached.expiresAt > this.now()) return cached.result;
      this.cache.delete(key);
    }
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      if (!this.spend()) return THROTTLED;
      pending = this.lookUp(token, key).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /** Takes one lookup from the outbound budget; false when it is spent or too many are in flight. */
  private spend(): boolean {
    if (this.inFlight.size >= this.maxConcurrent) return false;
    const now = this.now();
    this.budget = Math.min(this.maxBurst, this.budget + Math.max(0, now - this.budgetAt) * this.refillPerMs);
    this.budgetAt = now;
    if (this.budget < 1) return false;
    this.budget -= 1;
    return true;
  }

  private async lookUp(token: string, key: string): Promise<IntrospectionResult> {
    const response = await this.request(token);
    if (response === undefined) return UNAVAILABLE;
    const now = this.now();
    const result = this.judge(response, now / 1000);
    if (result === UNAVAILABLE) return result;
    let lifetime = result.ok ? this.cacheMs : this.negativeCacheMs;
    if (result.ok && result.claims.exp !== undefined) lifetime = Math.min(lifetime, result.claims.exp * 1000 - now);
    if (lifetime > 0) this.remember(key, { result, expiresAt: now + lifetime });
    return result;
  }

  /** The parsed JSON body of a 200 answer; undefined when there is none. */
  private async request(token: string): Promise<unknown> {
    try {
      const response = await this.fetchImpl(this.endpoint, {
        method: 'POST',
        headers: {
          authorization: this.authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        return undefined;
      }
      return await readJsonUpTo(response, MAX_INTROSPECTION_BYTES);
    } catch (error) {
      if (error instanceof ResponseTooLargeError) {
        logger.warn(
          `Refused the answer of the introspection endpoint ${this.where}: ${error.message}; it was not read further`,
        );
      }
      return undefined;
    }
  }

  private judge(body: unknown, nowSeconds: number): IntrospectionResult {
    if (!isRecord(body) || typeof body.active !== 'boolean') return UNAVAILABLE;
    if (!body.active) return { ok: false, reason: 'inactive' };
    const { sub, client_id, exp, aud, iss, scope } = body;
    if (
      !optional(sub, isString) ||
      !optional(client_id, isString) ||
      !optional(exp, isFiniteNumber) ||
      !optional(aud, isAudience) ||
      !optional(iss, isString) ||
      !optional(scope, isString)
    ) {
      return UNAVAILABLE;
    }
    const claims: IntrospectionClaims = {
      active: true,
      ...(sub !== undefined && { sub }),
      ...(client_id !== undefined && { client_id }),
      ...(exp !== undefined && { exp }),
      ...(aud !== undefined && { aud }),
      ...(iss !== undefined && { iss }),
      ...(scope !== undefined && { scope }),
      scopes: scope === undefined ? [] : scope.split(' ').filter((s) => s.length > 0),
    };
    if (claims.exp !== undefined && claims.exp <= nowSeconds) return { ok: false, reason: 'expired' };
    if (this.expectedIssuer !== undefined && claims.iss !== this.expectedIssuer) {
      return { ok: false, reason: 'wrong-issuer' };
    }
    if (this.expectedAudience !== undefined && !audienceIncludes(claims.aud, this.expectedAudience)) {
      return { ok: false, reason: 'wrong-audience' };
    }
    return { ok: true, claims };
  }

  private remember(key: string, entry: CacheEntry): void {
    if (this.maxCacheEntries === 0) return;
    if (this.cache.size >= this.maxCacheEntries) {
      const now = this.now();
      for (const [k, e] of this.cache) if (e.expiresAt <= now) this.cache.delete(k);
      while (this.cache.size >= this.maxCacheEntries) {
        const oldest = this.cache.keys().next();
        if (oldest.done === true) break;
        this.cache.delete(oldest.value);
      }
    }
    this.cache.set(key, entry);
  }
}

/** RFC 6749 section 2.3.1: client credentials are form-urlencoded before Basic encoding. */
function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

function seconds(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new Error(`TokenIntrospector: ${name} must be a non-negative number`);
  return value;
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`TokenIntrospector: ${name} must be a positive number`);
  return value;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`TokenIntrospector: ${name} must be a positive integer`);
  return value;
}

function optional<T>(value: unknown, guard: (v: unknown) => v is T): value is T | undefined {
  return value === undefined || guard(value);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isAudience(value: unknown): value is string | string[] {
  return typeof value === 'string' || (Array.isArray(value) && value.every(isString));
}

function audienceIncludes(aud: string | readonly string[] | undefined, expected: string): boolean {
  return typeof aud === 'string' ? aud === expected : aud !== undefined && aud.includes(expected);
}
