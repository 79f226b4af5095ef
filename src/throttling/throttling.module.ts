import { ExecutionContext, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import type { RequestContext } from '../common/http/request-context';
import { AppConfig } from '../config';
import { CallerRateLimiter } from './caller-rate-limiter';
import { CallerThrottlerGuard } from './caller-throttler.guard';
import { PreAuthLimiter } from './pre-auth-limiter';
import { RateLimitStore, RateLimitStoreModule } from './rate-limit.store';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';

function callerLimit(config: AppConfig) {
  return (context: ExecutionContext): number =>
    context.switchToHttp().getRequest<RequestContext>().callerRateLimit?.limit ?? config.throttle.limit;
}

function callerTtl(config: AppConfig) {
  return (context: ExecutionContext): number =>
    (context.switchToHttp().getRequest<RequestContext>().callerRateLimit?.ttlSeconds ?? config.throttle.ttlSeconds) *
    1000;
}

@Module({
  imports: [
    AuthModule,
    AuditModule,
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStoreModule],
      inject: [AppConfig, RateLimitStore],
      useFactory: (config: AppConfig, storage: RateLimitStore) => ({
        // Named `default` so the throttler sends the standard `Retry-After` (other names get a suffix).
        throttlers: [{ name: 'default', limit: callerLimit(config), ttl: callerTtl(config) }],
        storage,
      }),
    }),
  ],
  providers: [CallerThrottlerGuard, CallerRateLimiter, PreAuthLimiter],
  exports: [CallerThrottlerGuard, CallerRateLimiter, PreAuthLimiter, ThrottlerModule, AuthModule],
})
export class ThrottlingModule {}
