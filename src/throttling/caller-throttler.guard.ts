import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  getOptionsToken,
  getStorageToken,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import { AuditLog } from '../audit/audit-log';
import { AppError } from '../common/errors/app-error';
import type { RequestContext } from '../common/http/request-context';

/**
 * Throttles per caller (never per IP: many callers share a platform's egress addresses), with the
 * caller's own limit from the callers file when it has one. Runs after the auth guard.
 */
@Injectable()
export class CallerThrottlerGuard extends ThrottlerGuard {
  constructor(
    @Inject(getOptionsToken()) options: ThrottlerModuleOptions,
    @Inject(getStorageToken()) storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly audit: AuditLog,
  ) {
    super(options, storage, reflector);
  }

  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    const caller = (req as unknown as RequestContext).caller;
    return Promise.resolve(caller ? `caller:${caller.id}` : 'caller:unknown');
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const request = context.switchToHttp().getRequest<RequestContext>();
    this.audit.record({
      event: 'excess_rate_limit_exceeded',
      outcome: 'failure',
      callerId: request.caller?.id,
      reason: 'rate-limit',
      detail: `${detail.limit} per ${Math.round(detail.ttl / 1000)} s`,
      remoteAddress: request.clientAddress ?? request.socket.remoteAddress,
      requestId: request.requestId,
    });
    return Promise.reject(new AppError('RATE_LIMITED', 'Too many requests; retry after the time in Retry-After.'));
  }
}
