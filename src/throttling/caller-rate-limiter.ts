import { Inject, Injectable } from '@nestjs/common';
import { getStorageToken, type ThrottlerStorage } from '@nestjs/throttler';
import { AuditLog } from '../audit/audit-log';
import type { RateLimit } from '../common/caller';
import { AppError } from '../common/errors/app-error';
import { AppConfig } from '../config';

/** The throttler name CallerThrottlerGuard counts under (see ThrottlingModule). */
const THROTTLER_NAME = 'default';

export interface RateLimitedCall {
  readonly callerId: string;
  readonly rateLimit?: RateLimit;
  /** The counted operation, e.g. `grpc:Fulfill`: each has its own budget, like each HTTP route. */
  readonly operation: string;
  readonly remoteAddress?: string;
  readonly requestId?: string;
}

/**
 * Per-caller throttling for transports without an HTTP request (gRPC): the same counters (Redis or memory,
 * through the throttler storage), the same limits and the same audit event as CallerThrottlerGuard.
 */
@Injectable()
export class CallerRateLimiter {
  constructor(
    @Inject(getStorageToken()) private readonly storage: ThrottlerStorage,
    private readonly audit: AuditLog,
    private readonly config: AppConfig,
  ) {}

  /** Counts one call; throws `RATE_LIMITED` (with `Retry-After`) past the caller's limit. */
  async consume(call: RateLimitedCall): Promise<void> {
    const limit = call.rateLimit?.limit ?? this.config.throttle.limit;
    const ttlMs = (call.rateLimit?.ttlSeconds ?? this.config.throttle.ttlSeconds) * 1000;
    const key = `${call.operation}:caller:${call.callerId}`;
    const record = await this.storage.increment(key, ttlMs, limit, ttlMs, THROTTLER_NAME);
    if (!record.isBlocked) return;
    this.audit.record({
      event: 'excess_rate_limit_exceeded',
      outcome: 'failure',
      callerId: call.callerId,
      reason: 'rate-limit',
      detail: `${limit} per ${Math.round(ttlMs / 1000)} s`,
      remoteAddress: call.remoteAddress,
      requestId: call.requestId,
    });
    throw new AppError('RATE_LIMITED', 'Too many requests; retry after the time in Retry-After.', [], {
      'Retry-After': String(record.timeToBlockExpire),
    });
  }
}
