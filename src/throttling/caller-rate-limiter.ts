import { Inject, Injectable, Optional } from '@nestjs/common';
import { getStorageToken } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { AuditLog } from '../audit/audit-log';
import { type CallerRateLimit, routeRateLimit } from '../auth/callers/caller';
import { AppError } from '../common/errors/app-error';
import { thenOrNow } from '../common/then-or-now';
import { AppConfig } from '../config';
import { Metrics } from '../observability/metrics';
import { rateLimitHeaders, type RateLimitState } from './rate-limit-headers';
import type { RateLimitStore } from './rate-limit.store';
import { RefusalAuditWindow } from './refusal-audit-window';

/** The storage name every caller budget counts under (Redis keys `{<key>:caller}:hits`). */
const THROTTLER_NAME = 'caller';
/** The policy name of a caller's one budget in `RateLimit-Policy` / `RateLimit`. */
export const CALLER_POLICY = 'default';

export interface RateLimitedCall {
  /** Absent only on routes opened to anyone (Rasa SDK's `RASA_OPEN_ENDPOINTS`): those share a budget per route. */
  readonly callerId?: string;
  readonly rateLimit?: CallerRateLimit;
  /** The route as the callers file names it (RATE_LIMITED_ROUTES): `POST /v1/webhooks/generic`, `pkg.Service/Method`. */
  readonly route: string;
  /** What was called, for the audit row: `POST /v1/webhooks/generic` (no query string), or the gRPC method path. */
  readonly calledRoute?: string;
  readonly remoteAddress?: string;
  readonly requestId?: string;
}

/** The budget a call was counted in: its own route's (`route`) or the caller's one budget. */
interface CountedWindow {
  readonly key: string;
  readonly route?: string;
  readonly limit: number;
  readonly windowSeconds: number;
}

/**
 * Per-caller throttling for both transports: one counter per caller, whatever the route or gRPC method (so a
 * caller cannot multiply its budget by spreading calls over platforms or transports), except the routes its
 * `rateLimit.routes` gives their own. Counters live in the throttler storage (Redis when REDIS_URL is set, so
 * replicas share them).
 */
@Injectable()
export class CallerRateLimiter {
  private readonly audited = new RefusalAuditWindow();

  constructor(
    @Inject(getStorageToken()) private readonly storage: RateLimitStore,
    private readonly audit: AuditLog,
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  /**
   * Counts one call and returns the state for the `RateLimit-Policy` / `RateLimit` fields; past the budget throws
   * `RATE_LIMITED` carrying those fields and `Retry-After`. At once with the in-memory counters; a promise when the
   * count is Redis's.
   */
  consume(call: RateLimitedCall): RateLimitState | Promise<RateLimitState> {
    const budget = routeRateLimit(call.rateLimit, call.route);
    const limit = budget.rateLimit?.limit ?? this.config.throttle.limit;
    const windowSeconds = budget.rateLimit?.ttlSeconds ?? this.config.throttle.ttlSeconds;
    const ttlMs = windowSeconds * 1000;
    const owner = call.callerId === undefined ? `open:${call.route}` : `caller:${call.callerId}`;
    const key = budget.own ? `${owner}:route:${call.route}` : owner;
    const counted = this.storage.count(key, ttlMs, limit, ttlMs, THROTTLER_NAME);
    const window = { key, route: budget.own ? call.route : undefined, limit, windowSeconds };
    return thenOrNow(counted, (record) => this.settle(call, window, record));
  }

  private settle(
    call: RateLimitedCall,
    { key, route, limit, windowSeconds }: CountedWindow,
    record: ThrottlerStorageRecord,
  ): RateLimitState {
    const state: RateLimitState = {
      policy: route ?? CALLER_POLICY,
      limit,
      windowSeconds,
      // The store answers 0 hits only when it is unreachable and the call was let through (fail open).
      ...(record.totalHits > 0 && {
        remaining: record.isBlocked ? 0 : Math.max(0, limit - record.totalHits),
        resetSeconds: record.isBlocked ? record.timeToBlockExpire : record.timeToExpire,
      }),
    };
    if (!record.isBlocked) return state;
    this.metrics?.throttledRequest('caller');
    const retryAfter = Math.max(1, record.timeToBlockExpire);
    // One row per block: a caller that keeps sending must not spend the audit budget of its address.
    if (this.audited.firstOfBlock(key, retryAfter)) {
      this.audit.record({
        event: 'excess_rate_limit_exceeded',
        outcome: 'failure',
        callerId: call.callerId,
        reason: 'rate-limit',
        detail: `${limit} per ${windowSeconds} s${route ? ` on ${route}` : ''}`,
        remoteAddress: call.remoteAddress,
        requestId: call.requestId,
        route: call.calledRoute ?? call.route,
      });
    }
    throw new AppError('RATE_LIMITED', 'Too many requests; retry after the time in Retry-After.', [], {
      'Retry-After': String(retryAfter),
      ...rateLimitHeaders(state),
    });
  }
}
