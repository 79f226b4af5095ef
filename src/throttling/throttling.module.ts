import { ExecutionContext, Global, Logger, Module } from '@nestjs/common';
import { ThrottlerModule, ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import Redis from 'ioredis';
import { AppConfig } from '../config';
import type { RequestContext } from '../common/http/request-context';
import { CallerThrottlerGuard } from './caller-throttler.guard';

/**
 * Redis counters shared by every replica; if Redis is unreachable the request is let through (and logged)
 * rather than refusing all traffic because a rate-limit store is down.
 */
class FailOpenStorage implements ThrottlerStorage {
  private readonly logger = new Logger('Throttling');
  private warnedAt = 0;

  constructor(private readonly inner: ThrottlerStorage) {}

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
      if (Date.now() - this.warnedAt > 10_000) {
        this.warnedAt = Date.now();
        this.logger.error(`Rate-limit store unavailable, not throttling: ${String(error)}`);
      }
      return { totalHits: 0, timeToExpire: 0, isBlocked: false, timeToBlockExpire: 0 };
    }
  }
}

function callerLimit(config: AppConfig) {
  return (context: ExecutionContext): number =>
    context.switchToHttp().getRequest<RequestContext>().callerRateLimit?.limit ?? config.throttle.limit;
}

function callerTtl(config: AppConfig) {
  return (context: ExecutionContext): number =>
    (context.switchToHttp().getRequest<RequestContext>().callerRateLimit?.ttlSeconds ?? config.throttle.ttlSeconds) *
    1000;
}

@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        throttlers: [{ name: 'caller', limit: callerLimit(config), ttl: callerTtl(config) }],
        storage: new FailOpenStorage(
          config.redisUrl
            ? new ThrottlerStorageRedisService(
                new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false }),
              )
            : new ThrottlerStorageService(),
        ),
      }),
    }),
  ],
  providers: [CallerThrottlerGuard],
  exports: [CallerThrottlerGuard, ThrottlerModule],
})
export class ThrottlingModule {}
