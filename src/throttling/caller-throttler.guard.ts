import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Response } from 'express';
import type { RequestContext } from '../common/http/request-context';
import { thenOrNow } from '../common/then-or-now';
import { CallerRateLimiter } from './caller-rate-limiter';
import { rateLimitHeaders, type RateLimitState } from './rate-limit-headers';

/** `METHOD /path` as routed (`GET /v1/fulfillments/:id`), the name the callers file's `rateLimit.routes` uses. */
export function httpRouteOf(request: RequestContext): string {
  const route = (request.route as { path?: unknown } | undefined)?.path;
  // Express serves HEAD with the GET route: counted as another route, HEAD polled around the GET's own budget.
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  return `${method} ${typeof route === 'string' ? route : request.path}`;
}

/**
 * Throttles per caller (never per IP: many callers share a platform's egress addresses): the caller's one budget,
 * shared with every other route and gRPC method (CallerRateLimiter), and says where the caller stands in
 * `RateLimit-Policy` / `RateLimit` (on a 429 too, with `Retry-After`). Runs after the auth guard.
 */
@Injectable()
export class CallerThrottlerGuard implements CanActivate {
  constructor(private readonly limiter: CallerRateLimiter) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<RequestContext>();
    const consumed = this.limiter.consume({
      callerId: request.caller?.id,
      // The auth guard copies the registered caller's rateLimit, route overrides included.
      rateLimit: request.callerRateLimit,
      route: httpRouteOf(request),
      calledRoute: `${request.method} ${request.path}`,
      remoteAddress: request.clientAddress ?? request.socket.remoteAddress,
      requestId: request.requestId,
    });
    const response = http.getResponse<Response>();
    return thenOrNow(consumed, (state) => announce(response, state));
  }
}

/** Where the caller stands, in the response's `RateLimit-Policy` / `RateLimit` fields. */
function announce(response: Response, state: RateLimitState): true {
  for (const [name, value] of Object.entries(rateLimitHeaders(state))) response.setHeader(name, value);
  return true;
}
