import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../common/errors/app-error';
import { isApiRequest } from '../common/http/api-path';
import type { RequestContext } from '../common/http/request-context';
import { sendJson } from '../common/http/send-json';
import { forwardingHeaders } from '../common/net/client-address';
import { clientCall, type PreAuthLimiter } from './pre-auth-limiter';

/**
 * Settles each request's client address (`request.clientAddress`, which the caller guard, the audit rows, the
 * rate limits and the access log use), then applies the pre-authentication limit before the body is read or
 * any credential looked at: 429 with Retry-After and the usual error body past it.
 */
export function preAuthLimit(limiter: PreAuthLimiter): RequestHandler {
  return (req: Request, response: Response, next: NextFunction) => {
    const request = req as RequestContext;
    const client = limiter.clientAddress(request.socket.remoteAddress, forwardingHeaders(request.headers));
    request.clientAddress = client.address;
    // Turns, polls and admin calls; never the health probes (the kubelet calls them from the node's address).
    if (!isApiRequest(request)) {
      next();
      return;
    }
    let admitted: void | Promise<void>;
    try {
      admitted = limiter.admit(clientCall(client, request.requestId, `${request.method} ${request.path}`));
    } catch (error: unknown) {
      refuse(error, request, response, next);
      return;
    }
    // In-memory counters settle at once: the request goes on in the same turn of the loop.
    if (!admitted) {
      next();
      return;
    }
    admitted.then(
      () => next(),
      (error: unknown) => refuse(error, request, response, next),
    );
  };
}

/** 429 with `Retry-After` and the usual error body for a refusal; anything else goes on to the error handlers. */
function refuse(error: unknown, request: RequestContext, response: Response, next: NextFunction): void {
  if (!(error instanceof AppError)) {
    next(error);
    return;
  }
  for (const [name, value] of Object.entries(error.headers)) response.setHeader(name, value);
  sendJson(
    response,
    429,
    JSON.stringify({ statusCode: 429, error: error.code, message: error.message, requestId: request.requestId }),
  );
}
