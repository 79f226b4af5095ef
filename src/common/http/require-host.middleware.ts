import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors/app-error';

/**
 * HTTP/1.1 requires a Host header (RFC 9112 §3.2). Node refuses a request without one itself, with a bare 400
 * and no body, before any of our code: the server's own check is turned off (`requireHostHeader = false`) and
 * this answers instead, as JSON, audited and logged like every other 400.
 */
export function requireHostHeader(request: Request, _response: Response, next: NextFunction): void {
  if (request.httpVersion === '1.1' && !request.headers.host) {
    next(new AppError('MALFORMED_REQUEST', 'An HTTP/1.1 request must have a Host header.'));
    return;
  }
  next();
}
