import { Injectable } from '@nestjs/common';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../common/errors/app-error';
import { AppConfig } from '../../config';
import type { AdminPrincipal, AdminRequest } from './admin-principal';
import { isLocalOperatorRequest, LOCAL_OPERATOR } from './local-operator';

export const CSRF_HEADER = 'x-csrf-token';

/**
 * Who a console request comes from, and the CSRF token of their session. A state-changing request must carry
 * the token in a header (a page of another origin cannot read it, nor send that header without a CORS preflight
 * we never answer), and a browser's Origin or Sec-Fetch-Site must say it came from the console itself.
 */
@Injectable()
export class AdminSessions {
  /** Signs CSRF tokens; per process until sessions are shared between replicas. */
  private readonly secret = randomBytes(32);

  constructor(private readonly config: AppConfig) {}

  principalOf(request: AdminRequest): AdminPrincipal | undefined {
    if (!this.config.isProduction && isLocalOperatorRequest(request.socket.remoteAddress, request.headers.host)) {
      return LOCAL_OPERATOR;
    }
    return undefined;
  }

  csrfToken(principal: AdminPrincipal): string {
    return createHmac('sha256', this.secret).update(`csrf:${principal.sessionId}`).digest('base64url');
  }

  checkCsrf(request: AdminRequest, principal: AdminPrincipal): void {
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') {
      throw new AppError('FORBIDDEN', 'Console actions are accepted only from the console itself.');
    }
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `${request.protocol}://${request.headers.host}`) {
      throw new AppError('FORBIDDEN', 'Console actions are accepted only from the console itself.');
    }
    const sent = request.headers[CSRF_HEADER];
    const expected = Buffer.from(this.csrfToken(principal));
    if (typeof sent !== 'string' || sent.length !== expected.length || !timingSafeEqual(Buffer.from(sent), expected)) {
      throw new AppError('FORBIDDEN', `A console action needs its session's CSRF token in ${CSRF_HEADER}.`);
    }
  }
}
