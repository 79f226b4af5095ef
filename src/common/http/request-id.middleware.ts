import type { NextFunction, Request, Response } from 'express';
import { acceptedRequestId } from '../limits';
import type { RequestContext } from './request-context';

/** Gives every request an id (the caller's `X-Request-Id` when it is safe to echo) and returns it. */
export function requestIdMiddleware(request: Request, res: Response, next: NextFunction): void {
  const req = request as RequestContext;
  req.requestId = acceptedRequestId(req.headers['x-request-id']);
  res.setHeader('X-Request-Id', req.requestId);
  next();
}
