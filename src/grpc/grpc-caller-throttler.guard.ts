import { Metadata } from '@grpc/grpc-js';
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { AppError } from '../common/errors/app-error';
import { CallerRateLimiter } from '../throttling/caller-rate-limiter';
import { rateLimitHeaders } from '../throttling/rate-limit-headers';
import { GrpcUnaryCall, remoteAddressOf } from './grpc-call';

/**
 * Per-caller throttling of gRPC calls (CallerThrottlerGuard's counterpart), drawing from the same budget as the
 * caller's HTTP calls; runs after GrpcCallerAuthGuard. Sends the initial metadata with `ratelimit-policy` and
 * `ratelimit` (the HTTP fields' values); a refused call (RESOURCE_EXHAUSTED) carries them, with `retry-after`,
 * in its trailers.
 */
@Injectable()
export class GrpcCallerThrottlerGuard implements CanActivate {
  constructor(private readonly limiter: CallerRateLimiter) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const call = context.getArgByIndex<GrpcUnaryCall>(2);
    if (!call.caller) throw new AppError('UNAUTHENTICATED', 'Missing or invalid credentials.');
    const state = await this.limiter.consume({
      callerId: call.caller.id,
      // The auth guard copies the registered caller's rateLimit, route overrides included.
      rateLimit: call.callerRateLimit,
      // `/fulfillment.v1.FulfillmentService/Fulfill` → the callers file's `fulfillment.v1.FulfillmentService/Fulfill`.
      route: call.getPath().replace(/^\//, ''),
      calledRoute: call.getPath(),
      remoteAddress: call.clientAddress ?? remoteAddressOf(call),
      requestId: call.requestId,
    });
    const metadata = call.responseMetadata ?? new Metadata();
    for (const [name, value] of Object.entries(rateLimitHeaders(state))) metadata.set(name.toLowerCase(), value);
    call.sendMetadata(metadata);
    return true;
  }
}
