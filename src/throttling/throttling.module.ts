import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { CallerRateLimiter } from './caller-rate-limiter';
import { CallerThrottlerGuard } from './caller-throttler.guard';
import { PreAuthLimiter } from './pre-auth-limiter';
import { RateLimitStore, RateLimitStoreModule } from './rate-limit.store';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';

@Module({
  imports: [
    AuthModule,
    AuditModule,
    // Only for its storage token: the counters (RateLimitStore) CallerRateLimiter and PreAuthLimiter count in.
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStoreModule],
      inject: [RateLimitStore],
      useFactory: (storage: RateLimitStore) => ({ throttlers: [], storage }),
    }),
  ],
  providers: [CallerThrottlerGuard, CallerRateLimiter, PreAuthLimiter],
  exports: [CallerThrottlerGuard, CallerRateLimiter, PreAuthLimiter, ThrottlerModule, AuthModule],
})
export class ThrottlingModule {}
