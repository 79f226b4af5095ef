import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Deadline } from '../common/deadline';
import { arrivalOf } from '../common/http/arrival';
import type { RequestContext } from '../common/http/request-context';
import { AppConfig } from '../config';
import { authenticateWithin, CallerAuthenticator, signedTheBody } from './caller-authenticator';
import { queryValues } from './query-token';
import { QueryTokenParameter } from '../common/caller';
import { connectionSecurity } from './tls/peer-identity';
import { normaliseAddress } from '../common/net/client-address';
import { WebhookPlatform, type Platform } from '../common/platform';

const EMPTY = Buffer.alloc(0);

/**
 * Every webhook route sits behind this guard: the HTTP side of `CallerAuthenticator`, which decides (fixed
 * strategy order, certificate binding, audit). Refusals are answered with the same 401 body; a caller on a
 * platform it may not call gets 403.
 */
@Injectable()
export class CallerAuthGuard implements CanActivate {
  private readonly platforms = new WeakMap<object, Platform | undefined>();
  private readonly queryTokenParameters = new WeakMap<object, string | undefined>();

  constructor(
    private readonly authenticator: CallerAuthenticator,
    private readonly reflector: Reflector,
    private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestContext>();
    const tokenParameter = this.queryTokenParameterOf(context);
    const source = {
      headers: request.headers,
      rawHeaders: request.rawHeaders,
      // A request without a body is signed over zero bytes (e.g. GET /actions).
      signedBody: request.rawBody ?? EMPTY,
      connection: connectionSecurity(request.socket),
      // Settled before authentication by the pre-auth limit (TRUSTED_PROXIES); the socket peer without it.
      remoteAddress: request.clientAddress ?? normaliseAddress(request.socket.remoteAddress),
      requestId: request.requestId,
      route: `${request.method} ${request.path}`,
      ...(tokenParameter !== undefined && { queryTokens: queryValues(request.originalUrl, tokenParameter) }),
    };
    const platform = this.platformOf(context);
    const deadline = Deadline.after(this.config.fulfillment.deadlinesMs[platform ?? 'generic'], arrivalOf(request));
    const authenticated = await authenticateWithin(this.authenticator, source, deadline, { platform: () => platform });
    const { caller } = authenticated;
    request.caller = { id: caller.id, platforms: caller.platforms };
    request.callerRateLimit = caller.rateLimit;
    request.bodySigned = signedTheBody(authenticated);
    return true;
  }

  /** The query parameter the route takes a token in (`QueryTokenParameter`), if any; read once per route. */
  private queryTokenParameterOf(context: ExecutionContext): string | undefined {
    const handler = context.getHandler();
    if (!this.queryTokenParameters.has(handler)) {
      this.queryTokenParameters.set(
        handler,
        this.reflector.getAllAndOverride(QueryTokenParameter, [handler, context.getClass()]),
      );
    }
    return this.queryTokenParameters.get(handler);
  }

  /** The route's platform (undefined for a route of none), read from its metadata once per route. */
  private platformOf(context: ExecutionContext): Platform | undefined {
    const handler = context.getHandler();
    if (!this.platforms.has(handler)) {
      this.platforms.set(handler, this.reflector.getAllAndOverride(WebhookPlatform, [handler, context.getClass()]));
    }
    return this.platforms.get(handler);
  }
}
