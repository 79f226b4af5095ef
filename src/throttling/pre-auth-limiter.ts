import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { getStorageToken } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { AuditLog } from '../audit/audit-log';
import { AppError } from '../common/errors/app-error';
import { thenOrNow } from '../common/then-or-now';
import {
  addressLimitKey,
  type ClientAddress,
  type ForwardingHeaders,
  IpRanges,
  resolveClientAddress,
} from '../common/net/client-address';
import { AppConfig } from '../config';
import { Metrics } from '../observability/metrics';
import { rateLimitHeaders } from './rate-limit-headers';
import { RefusalAuditWindow } from './refusal-audit-window';
import type { RateLimitStore } from './rate-limit.store';

const THROTTLER_NAME = 'preauth';
/** The per-address budget's policy name in the `RateLimit-Policy` / `RateLimit` fields of its 429. */
const PREAUTH_POLICY = 'preauth';
/**
 * Ignored forwarding headers are audited once per peer address in this window, and logged once per peer in the
 * longer one: behind a proxy missing from TRUSTED_PROXIES every request has them, and a row each would spend the
 * proxy's audit budget (AUDIT_MAX_PER_SOURCE) and drop the login failures of every client behind it.
 */
const IGNORED_FORWARDING_AUDIT_SECONDS = 60;
const IGNORED_FORWARDING_LOG_SECONDS = 3600;

export interface ClientCall extends ClientAddress {
  readonly requestId?: string;
  /** What was called, for the audit: `POST /v1/…` (no query string), or the gRPC method path. */
  readonly route?: string;
}

/** A call to admit, field by field: calls made alike share a hidden class (see `withProperties`). */
export function clientCall(
  client: ClientAddress,
  requestId: string | undefined,
  route: string | undefined,
): ClientCall {
  return { address: client.address, ignoredForwarding: client.ignoredForwarding, requestId, route };
}

/**
 * The gate every call passes before its credentials are looked at: it settles the client's address (see
 * `resolveClientAddress` and TRUSTED_PROXIES) and counts the call against that address's budget
 * (PREAUTH_LIMIT per PREAUTH_TTL_SECONDS, in Redis when REDIS_URL is set). Past the budget the call is refused
 * without reading its credentials, so a flood of bad tokens costs a counter, not a hash, a JWKS fetch or a query.
 */
@Injectable()
export class PreAuthLimiter {
  private readonly trusted: IpRanges;
  private readonly logger = new Logger('PreAuthLimit');
  private readonly audited = new RefusalAuditWindow();
  private readonly ignoredForwarding = new RefusalAuditWindow();
  private readonly ignoredForwardingLogged = new RefusalAuditWindow();

  constructor(
    @Inject(getStorageToken()) private readonly storage: RateLimitStore,
    private readonly audit: AuditLog,
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: Metrics,
  ) {
    this.trusted = IpRanges.parse(config.network.trustedProxies).ranges;
  }

  /** The client's address from the socket peer and (from a trusted proxy only) the forwarding headers. */
  clientAddress(peer: string | undefined, headers: ForwardingHeaders): ClientAddress {
    return resolveClientAddress(peer, headers, this.trusted, this.config.network.forwardedHeader);
  }

  /**
   * Counts one call; throws `RATE_LIMITED` (with `Retry-After`) past the address's budget. A call let through
   * whose forwarding headers were ignored is audited once per peer and minute; a refused one once per address and
   * window. Settled at once with the in-memory counters (nothing returned); a promise when the count is Redis's.
   */
  admit(call: ClientCall): void | Promise<void> {
    const { limit, ttlSeconds } = this.config.network.preAuth;
    if (limit > 0 && call.address) {
      const ttlMs = ttlSeconds * 1000;
      const key = `preauth:ip:${addressLimitKey(call.address)}`;
      const counted = this.storage.count(key, ttlMs, limit, ttlMs, THROTTLER_NAME);
      return thenOrNow(counted, (record) => this.settle(call, key, record));
    }
    if (call.ignoredForwarding) this.recordIgnoredForwarding(call, call.ignoredForwarding);
  }

  private settle(call: ClientCall, key: string, record: ThrottlerStorageRecord): void {
    const { limit, ttlSeconds } = this.config.network.preAuth;
    if (record.isBlocked) {
      const retryAfter = Math.max(1, record.timeToBlockExpire);
      this.metrics?.throttledRequest('preauth');
      this.auditRefusal(call, key, retryAfter, `${limit} per ${ttlSeconds} s`);
      throw new AppError('RATE_LIMITED', 'Too many requests; retry after the time in Retry-After.', [], {
        'Retry-After': String(retryAfter),
        ...rateLimitHeaders({
          policy: PREAUTH_POLICY,
          limit,
          windowSeconds: ttlSeconds,
          remaining: 0,
          resetSeconds: retryAfter,
        }),
      });
    }
    if (call.ignoredForwarding) this.recordIgnoredForwarding(call, call.ignoredForwarding);
  }

  private recordIgnoredForwarding(call: ClientCall, header: string): void {
    const peer = call.address ?? 'unknown';
    if (this.ignoredForwardingLogged.firstOfBlock(peer, IGNORED_FORWARDING_LOG_SECONDS)) {
      this.logger.warn(
        `${header} from ${peer}, which is outside TRUSTED_PROXIES, is ignored: if ${peer} is your load balancer or ` +
          'ingress, every client behind it counts as that one address (one pre-auth budget, sourceRanges, audit). ' +
          'List your proxies in TRUSTED_PROXIES. (Logged once an hour per address.)',
      );
    }
    if (!this.ignoredForwarding.firstOfBlock(peer, IGNORED_FORWARDING_AUDIT_SECONDS)) return;
    this.audit.record({
      event: 'input_validation_fail',
      outcome: 'failure',
      reason: 'untrusted-forwarding',
      detail: `${header} from a peer outside TRUSTED_PROXIES was ignored (audited once a minute per address)`,
      remoteAddress: call.address,
      requestId: call.requestId,
      route: call.route,
    });
  }

  private auditRefusal(call: ClientCall, key: string, retryAfterSeconds: number, detail: string): void {
    if (!this.audited.firstOfBlock(key, retryAfterSeconds)) return;
    this.audit.record({
      event: 'excess_rate_limit_exceeded',
      outcome: 'failure',
      reason: 'preauth-rate-limit',
      detail,
      remoteAddress: call.address,
      requestId: call.requestId,
      route: call.route,
    });
  }
}
