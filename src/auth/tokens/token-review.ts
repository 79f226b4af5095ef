import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { isRecord, parseHttpUrl } from './http';

export const DEFAULT_TOKEN_REVIEW_URL = 'https://kubernetes.default.svc';
export const DEFAULT_REVIEWER_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';
export const DEFAULT_REVIEWER_CA_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
const TOKEN_REVIEWS_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';
const MAX_RESPONSE_BYTES = 256 * 1024;

export type TokenReviewFailureReason = 'not-authenticated' | 'wrong-audience' | 'wrong-user' | 'review-unavailable';

export type TokenReviewResult =
  { readonly ok: true; readonly username: string } | { readonly ok: false; readonly reason: TokenReviewFailureReason };

export interface TokenReviewerOptions {
  /** The API server, e.g. `https://kubernetes.default.svc`; must be https. */
  readonly url: string;
  /** Our own service-account token (projected, rotated by the kubelet): re-read for every review sent. */
  readonly tokenFile: string;
  /** CA bundle that signs the API server's certificate; read once. */
  readonly caFile: string;
  readonly timeoutMs?: number;
  /** How long an accepted review is reused (never past the token's `exp`); default 10 s, at most 60 s. */
  readonly positiveCacheMs?: number;
  /** How long a refusal is reused; default 2 s, at most 5 s. */
  readonly negativeCacheMs?: number;
  /** Bound on cached reviews; the oldest go first. Default 10,000. */
  readonly maxEntries?: number;
  /** Milliseconds clock; for tests. */
  readonly now?: () => number;
}

interface CachedReview {
  readonly result: TokenReviewResult;
  readonly until: number;
}

/**
 * Asks the Kubernetes API server whether a service-account token is still valid (`TokenReview`,
 * authentication.k8s.io/v1): the token's pod or secret must still exist, which a signature check alone cannot
 * tell. Accepts only `status.authenticated: true` with the expected audience in `status.audiences` and the
 * expected username. Accepted reviews are cached briefly per token (hash), refusals for a few seconds,
 * failures to reach the API server never; concurrent reviews of one token share one request.
 */
export class TokenReviewer {
  private readonly url: URL;
  private readonly timeoutMs: number;
  private readonly positiveCacheMs: number;
  private readonly negativeCacheMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, CachedReview>();
  private readonly inFlight = new Map<string, Promise<TokenReviewResult>>();
  private ca: Promise<Buffer> | undefined;

  constructor(private readonly options: TokenReviewerOptions) {
    this.url = parseHttpUrl(options.url, 'TokenReview url');
    if (this.url.protocol !== 'https:') throw new Error('TokenReview url must be https');
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.positiveCacheMs = Math.min(options.positiveCacheMs ?? 10_000, 60_000);
    this.negativeCacheMs = Math.min(options.negativeCacheMs ?? 2_000, 5_000);
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * @param expiresAt the token's verified `exp` (seconds): an acceptance is never reused past it.
   */
  async review(token: string, audience: string, username: string, expiresAt: number): Promise<TokenReviewResult> {
    const key = createHash('sha256').update(`${audience}\n${username}\n${token}`).digest('base64url');
    const cached = this.cache.get(key);
    if (cached && cached.until > this.now()) return cached.result;
    this.cache.delete(key);
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.send(token, audience, username)
        .then((result) => {
          this.remember(key, result, expiresAt);
          return result;
        })
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private remember(key: string, result: TokenReviewResult, expiresAt: number): void {
    if (!result.ok && result.reason === 'review-unavailable') return;
    const ttl = result.ok ? Math.min(this.positiveCacheMs, expiresAt * 1000 - this.now()) : this.negativeCacheMs;
    if (ttl <= 0) return;
    while (this.cache.size >= this.maxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
    this.cache.set(key, { result, until: this.now() + ttl });
  }

  private async send(token: string, audience: string, username: string): Promise<TokenReviewResult> {
    let status: number;
    let body: unknown;
    try {
      const [ca, reviewerToken] = await Promise.all([this.caBundle(), readFile(this.options.tokenFile, 'utf8')]);
      const request = {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, audiences: [audience] },
      };
      ({ status, body } = await this.post(JSON.stringify(request), reviewerToken.trim(), ca));
    } catch {
      return { ok: false, reason: 'review-unavailable' };
    }
    // The API server answers 201 Created; 200 is accepted too.
    if ((status !== 201 && status !== 200) || !isRecord(body) || !isRecord(body.status)) {
      return { ok: false, reason: 'review-unavailable' };
    }
    const result = body.status;
    if (result.authenticated !== true) return { ok: false, reason: 'not-authenticated' };
    const audiences = result.audiences;
    if (!Array.isArray(audiences) || !audiences.includes(audience)) return { ok: false, reason: 'wrong-audience' };
    const user = isRecord(result.user) ? result.user.username : undefined;
    if (user !== username) return { ok: false, reason: 'wrong-user' };
    return { ok: true, username };
  }

  private caBundle(): Promise<Buffer> {
    this.ca ??= readFile(this.options.caFile).catch((error: unknown) => {
      this.ca = undefined;
      throw error;
    });
    return this.ca;
  }

  private post(payload: string, bearer: string, ca: Buffer): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        new URL(`${this.url.pathname.replace(/\/+$/, '')}${TOKEN_REVIEWS_PATH}`, this.url),
        {
          method: 'POST',
          ca,
          agent: false,
          headers: {
            authorization: `Bearer ${bearer}`,
            'content-type': 'application/json',
            accept: 'application/json',
            'content-length': Buffer.byteLength(payload),
          },
          signal: AbortSignal.timeout(this.timeoutMs),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) req.destroy(new Error('TokenReview response too large'));
            else chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => {
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
            } catch (error) {
              reject(error instanceof Error ? error : new Error(String(error)));
            }
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}
