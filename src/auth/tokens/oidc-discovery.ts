import { Logger } from '@nestjs/common';
import { readJsonUpTo, ResponseTooLargeError } from '../../common/http/capped-response-body';
import { describeError, type FetchLike, isRecord, parseHttpUrl } from './http';

export const DEFAULT_DISCOVERY_TIMEOUT_MS = 5_000;
/** Discovery documents are a few KiB; a longer answer is refused unread rather than held in memory. */
export const MAX_DISCOVERY_BYTES = 1024 * 1024;
const logger = new Logger('OidcDiscovery');

export class OidcDiscoveryError extends Error {
  override readonly name = 'OidcDiscoveryError';
}

export interface DiscoveryRequestOptions {
  /** Timeout of the discovery request; default 5 s. */
  readonly timeoutMs?: number;
}

/**
 * Reads `${issuer}/.well-known/openid-configuration`: a JSON object whose `issuer` equals the configured one exactly
 * (OpenID Connect Discovery 1.0, section 4.3), with `jwks_uri` and every other endpoint named in `endpoints` as
 * http(s) URLs. Redirects are refused, and so is an answer longer than {@link MAX_DISCOVERY_BYTES}. Throws
 * {@link OidcDiscoveryError}.
 */
export async function discoverEndpoints<Name extends string>(
  issuer: string,
  endpoints: readonly Name[],
  fetchImpl: FetchLike = fetch,
  options: DiscoveryRequestOptions = {},
): Promise<Record<Name | 'jwks_uri', string>> {
  const location = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  parseHttpUrl(location, 'OIDC issuer');
  const fail = (message: string, cause?: unknown): OidcDiscoveryError =>
    new OidcDiscoveryError(`OIDC discovery for ${issuer}: ${message}`, cause === undefined ? undefined : { cause });

  let document: unknown;
  try {
    const response = await fetchImpl(location, {
      method: 'GET',
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_DISCOVERY_TIMEOUT_MS),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw fail(`${location} answered HTTP ${response.status}`);
    }
    document = await readJsonUpTo(response, MAX_DISCOVERY_BYTES);
  } catch (error) {
    if (error instanceof OidcDiscoveryError) throw error;
    if (error instanceof ResponseTooLargeError) {
      logger.warn(`Refused the OIDC discovery document at ${location}: ${error.message}; it was not read further`);
      throw fail(`${location}: ${error.message}`, error);
    }
    throw fail(`fetching ${location} failed: ${describeError(error)}`, error);
  }

  if (!isRecord(document)) throw fail('the discovery document is not a JSON object');
  if (document.issuer !== issuer) {
    throw fail(`the discovery document names issuer ${JSON.stringify(document.issuer)}`);
  }
  const found: Partial<Record<string, string>> = {};
  for (const name of ['jwks_uri', ...endpoints]) {
    const value = document[name];
    if (typeof value !== 'string' || value.length === 0) throw fail(`the discovery document has no ${name}`);
    try {
      parseHttpUrl(value, name);
    } catch (error) {
      throw fail(describeError(error), error);
    }
    found[name] = value;
  }
  return found as Record<Name | 'jwks_uri', string>;
}

/** The issuer's `jwks_uri`, from its discovery document (see {@link discoverEndpoints}). */
export async function discoverJwksUri(
  issuer: string,
  fetchImpl: FetchLike = fetch,
  options: DiscoveryRequestOptions = {},
): Promise<string> {
  return (await discoverEndpoints(issuer, [], fetchImpl, options)).jwks_uri;
}

export interface OidcDiscoveryOptions extends DiscoveryRequestOptions {
  readonly fetchImpl?: FetchLike;
  /** After a failed discovery, calls within this window fail fast with the same error; default 5 s. */
  readonly retryAfterFailureMs?: number;
  /** Milliseconds clock; for tests. */
  readonly now?: () => number;
}

type Entry = { readonly pending: Promise<string> } | { readonly failedAt: number; readonly error: Error };

/**
 * Discovers each issuer's `jwks_uri` once and keeps it for the life of the process. Concurrent
 * callers share one request; a failure is remembered only for `retryAfterFailureMs`, then retried.
 */
export class OidcDiscovery {
  private readonly entries = new Map<string, Entry>();
  private readonly fetchImpl: FetchLike;
  private readonly timeoutMs: number | undefined;
  private readonly retryAfterFailureMs: number;
  private readonly now: () => number;

  constructor(options: OidcDiscoveryOptions = {}) {
    this.fetchImpl = options.fetchImpl ?? fetch;
    this.timeoutMs = options.timeoutMs;
    this.retryAfterFailureMs = options.retryAfterFailureMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  jwksUri(issuer: string): Promise<string> {
    const entry = this.entries.get(issuer);
    if (entry !== undefined) {
      if ('pending' in entry) return entry.pending;
      if (this.now() - entry.failedAt < this.retryAfterFailureMs) return Promise.reject(entry.error);
    }
    const pending = discoverJwksUri(issuer, this.fetchImpl, { timeoutMs: this.timeoutMs }).catch((cause: unknown) => {
      const error = cause instanceof Error ? cause : new OidcDiscoveryError(describeError(cause));
      this.entries.set(issuer, { failedAt: this.now(), error });
      throw error;
    });
    this.entries.set(issuer, { pending });
    return pending;
  }
}
