import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppError } from '../common/errors/app-error';
import type { RequestContext } from '../common/http/request-context';
import { BearerTokenStrategy } from './bearer-token.strategy';
import { WebhookPlatform } from './webhook-platform.decorator';

/**
 * Every webhook route sits behind this guard: it resolves the caller (401 when it cannot, without saying
 * why) and checks the caller may call the route's platform (403).
 */
@Injectable()
export class CallerAuthGuard implements CanActivate {
  constructor(
    private readonly bearer: BearerTokenStrategy,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<RequestContext>();
    const caller = this.bearer.authenticate(request.headers);
    if (!caller) throw new AppError('UNAUTHENTICATED', 'Missing or invalid credentials.');
    const platform = this.reflector.getAllAndOverride(WebhookPlatform, [context.getHandler(), context.getClass()]);
    if (platform && !caller.platforms.includes(platform)) {
      throw new AppError('FORBIDDEN', 'This caller may not call this endpoint.');
    }
    request.caller = { id: caller.id, platforms: caller.platforms };
    return true;
  }
}
