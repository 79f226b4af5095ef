import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { AppError } from '../common/errors/app-error';
import { CallerRateLimiter } from '../throttling/caller-rate-limiter';
import { GrpcUnaryCall, remoteAddressOf } from './grpc-call';

/** Per-caller throttling of gRPC calls (CallerThrottlerGuard's counterpart); runs after GrpcCallerAuthGuard. */
@Injectable()
export class GrpcCallerThrottlerGuard implements CanActivate {
  constructor(private readonly limiter: CallerRateLimiter) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const call = context.getArgByIndex<GrpcUnaryCall>(2);
    if (!call.caller) throw new AppError('UNAUTHENTICATED', 'Missing or invalid credentials.');
    await this.limiter.consume({
      callerId: call.caller.id,
      rateLimit: call.callerRateLimit,
      // Like HTTP, where each route (so each platform) has its own budget.
      operation: `grpc:${call.getPath()}:${call.platform}`,
      remoteAddress: call.clientAddress ?? remoteAddressOf(call),
      requestId: call.requestId,
    });
    return true;
  }
}
