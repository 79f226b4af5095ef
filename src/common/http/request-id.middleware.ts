import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { RequestContext } from './request-context';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Gives every request an id (the caller's `X-Request-Id` when it is safe to echo) and returns it. */
export function requestIdMiddleware(request: Request, res: Response, next: NextFunction): void {
  const req = request as RequestContext;
  const offered = req.headers['x-request-id'];
  req.requestId = typeof offered === 'string' && SAFE_REQUEST_ID.test(offered) ? offered : randomUUID();
  res.setHeader('X-Request-Id', req.requestId);
  next();
}
