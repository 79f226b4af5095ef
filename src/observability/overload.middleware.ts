import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { isApiRequest } from '../common/http/api-path';
import type { RequestContext } from '../common/http/request-context';
import { sendJson } from '../common/http/send-json';
import type { EventLoopLoad } from './event-loop-load';

const RETRY_AFTER_SECONDS = '1';

/**
 * Refuses work while the replica is overloaded, before its body is read or its caller authenticated, at the
 * cost of a few microseconds: 503 with Retry-After and the usual error body. Counts the requests it lets in
 * until their response ends (the replica's requests in hand).
 */
export function refuseWhenOverloaded(load: EventLoopLoad): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    // Turns, polls and admin calls; never the health probes, which must answer most of all under load.
    if (!isApiRequest(request)) {
      next();
      return;
    }
    if (!load.refuseNow()) {
      load.started();
      response.once('close', () => load.finished());
      next();
      return;
    }
    response.setHeader('Retry-After', RETRY_AFTER_SECONDS);
    sendJson(
      response,
      503,
      JSON.stringify({
        statusCode: 503,
        error: 'OVERLOADED',
        message: 'The service is too busy to answer in time; retry shortly.',
        requestId: (request as RequestContext).requestId,
      }),
    );
  };
}
