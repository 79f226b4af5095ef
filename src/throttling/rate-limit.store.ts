import { Injectable, Logger, Module, OnApplicationShutdown, Optional } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { closeRedis } from '../common/redis/close-redis';
import { redisClient, type RedisConnection } from '../common/redis/redis-client';
import { AppConfig } from '../config';
import { Metrics } from '../observability/metrics';
import { FixedWindowStorage } from './fixed-window.storage';
import { RedisWindowStorage } from './redis-window.storage';
import { redisErrorText } from '../common/redis/redis-error-text';

/** A stalled Redis must not hold requests: the counter is skipped after this long. */
const COMMAND_TIMEOUT_MS = 250;

/**
 * The counters behind throttling: Redis when REDIS_URL is set (one budget for every replica), otherwise
 * in memory. Fails open: if Redis is unreachable or stalled the request is let through and the outage
 * logged, rather than refusing all traffic because the rate-limit store is down. Each check skipped so is
 * counted (`rate_limit_checks_skipped_total`): an alert can tell "nobody is throttled" from "throttling is off".
 */
@Injectable()
export class RateLimitStore implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger('Throttling');
  private readonly redis?: RedisConnection;
  private readonly inner: ThrottlerStorage;
  private warnedAt = 0;
  private skipped = 0;

  constructor(config: AppConfig, @Optional() metrics?: Metrics) {
    metrics?.cumulative(
      'rate_limit_checks_skipped_total',
      'Rate-limit checks skipped because the store (Redis) was unavailable or too slow: those requests were not throttled',
      (observe) => observe(this.skipped),
    );
    if (config.redisUrl) {
      this.redis = redisClient(
        config.redisUrl,
        {
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false,
          commandTimeout: COMMAND_TIMEOUT_MS,
        },
        config.redisTopology,
      );
      this.redis.on('error', (error: Error) => this.warn(error));
      this.inner = new RedisWindowStorage(this.redis);
    } else {
      this.inner = new FixedWindowStorage();
    }
  }

  /**
   * Counts one hit: at once from the in-memory counters, a promise only when Redis is asked (a request's two counts
   * would otherwise be four promises and as many turns of the microtask queue, for a map lookup each).
   */
  count(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): ThrottlerStorageRecord | Promise<ThrottlerStorageRecord> {
    if (this.inner instanceof FixedWindowStorage) return this.inner.hit(key, ttl, limit, blockDuration);
    return this.increment(key, ttl, limit, blockDuration, throttlerName);
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    try {
      return await this.inner.increment(key, ttl, limit, blockDuration, throttlerName);
    } catch (error: unknown) {
      this.skipped++;
      this.warn(error);
      return { totalHits: 0, timeToExpire: 0, isBlocked: false, timeToBlockExpire: 0 };
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.inner instanceof FixedWindowStorage) this.inner.close();
    if (this.redis) await closeRedis(this.redis);
  }

  private warn(error: unknown): void {
    if (Date.now() - this.warnedAt < 10_000) return;
    this.warnedAt = Date.now();
    this.logger.error(`Rate-limit store unavailable, not throttling: ${redisErrorText(error)}`);
  }
}

@Module({ providers: [RateLimitStore], exports: [RateLimitStore] })
export class RateLimitStoreModule {}
