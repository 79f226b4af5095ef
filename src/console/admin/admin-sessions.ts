import { Injectable } from '@nestjs/common';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../common/errors/app-error';
import { AppConfig } from '../../config';
import { ConsoleOptions } from '../console.options';
import { ADMIN_ROLES, type AdminPrincipal, type AdminRequest, type AdminRole } from './admin-principal';
import { isLocalOperatorRequest, LOCAL_OPERATOR } from './local-operator';
import { cookieValue, seal, setCookie, unseal } from './sealed-cookie';

export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_COOKIE = 'wf_console';
export const LOGIN_COOKIE = 'wf_console_login';
/**
 * Over https both cookies carry the `__Host-` prefix: browsers keep such a cookie only when it is Secure, has Path=/
 * and no Domain, so a page on a sibling host (another app under the bank's domain) can plant neither a session
 * nor a sign-in state for the console to take as this browser's.
 */
const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;
const SECURE_LOGIN_COOKIE = `__Host-${LOGIN_COOKIE}`;
const SESSION_PURPOSE = 'console-session';

interface SessionClaims {
  readonly sid: string;
  readonly sub: string;
  readonly name: string;
  readonly roles: AdminRole[];
  /** When the person signed in (ms): an operator may end the sessions its subject signed in before an instant. */
  readonly iat?: number;
}

/**
 * Who a console request comes from (a signed-in person's session cookie, or the local operator in development),
 * and the CSRF token of their session. A state-changing request must carry the token in a header (a page of
 * another origin cannot read it, nor send that header without a CORS preflight we never answer), and a browser's
 * Origin or Sec-Fetch-Site must say it came from the console itself.
 */
@Injectable()
export class AdminSessions {
  constructor(
    private readonly config: AppConfig,
    private readonly options: ConsoleOptions,
  ) {}

  principalOf(request: AdminRequest): AdminPrincipal | undefined {
    const session = unseal<SessionClaims & { exp: number }>(
      SESSION_PURPOSE,
      cookieValue(request.headers.cookie, this.sessionCookieName),
      this.options.sessionSecret,
    );
    if (session && Array.isArray(session.roles)) {
      return {
        subject: session.sub,
        name: session.name,
        roles: session.roles.filter((role) => (ADMIN_ROLES as readonly string[]).includes(role)),
        via: 'oidc',
        sessionId: session.sid,
        expiresAt: session.exp,
        ...(typeof session.iat === 'number' && { signedInAt: session.iat }),
      };
    }
    return this.localOperatorAllowed && isLocalOperatorRequest(request) ? LOCAL_OPERATOR : undefined;
  }

  /** The session cookie's name: `__Host-wf_console` over https, `wf_console` over plain http (development). */
  get sessionCookieName(): string {
    return this.options.secureCookies ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
  }

  private get loginCookieName(): string {
    return this.options.secureCookies ? SECURE_LOGIN_COOKIE : LOGIN_COOKIE;
  }

  /** The sealed state of the sign-in under way in this browser (its login cookie). */
  loginState(request: AdminRequest): string | undefined {
    return cookieValue(request.headers.cookie, this.loginCookieName);
  }

  /** Only while developing without an identity provider: with one, everyone signs in. */
  private get localOperatorAllowed(): boolean {
    return !this.config.isProduction && this.options.oidc === undefined;
  }

  /** The Set-Cookie header that starts a signed-in person's session. */
  sessionCookie(principal: AdminPrincipal): string {
    const claims: SessionClaims = {
      sid: principal.sessionId,
      sub: principal.subject,
      name: principal.name,
      roles: [...principal.roles],
      iat: principal.signedInAt ?? Date.now(),
    };
    const value = seal(SESSION_PURPOSE, claims, Date.now() + this.options.sessionTtlMs, this.options.sessionSecret);
    // Lax, not Strict: the browser comes back from the identity provider in a cross-site redirect chain.
    return setCookie(this.sessionCookieName, value, {
      maxAgeSeconds: Math.floor(this.options.sessionTtlMs / 1000),
      path: '/',
      sameSite: 'Lax',
      secure: this.options.secureCookies,
    });
  }

  /** Set-Cookie headers that end a session (and a sign-in under way). */
  clearingCookies(): string[] {
    return [this.expired(this.sessionCookieName, '/'), this.clearingLoginCookie()];
  }

  /** The Set-Cookie header that ends a sign-in's state cookie (it is used once). */
  clearingLoginCookie(): string {
    return this.expired(this.loginCookieName, '/');
  }

  private expired(name: string, path: string): string {
    return setCookie(name, '', { maxAgeSeconds: 0, path, sameSite: 'Lax', secure: this.options.secureCookies });
  }

  /** The Set-Cookie header that keeps a sign-in's state until the identity provider sends the browser back. */
  loginCookie(sealedState: string): string {
    return setCookie(this.loginCookieName, sealedState, {
      maxAgeSeconds: 600,
      path: '/',
      sameSite: 'Lax',
      secure: this.options.secureCookies,
    });
  }

  csrfToken(principal: AdminPrincipal): string {
    return createHmac('sha256', this.options.sessionSecret).update(`csrf:${principal.sessionId}`).digest('base64url');
  }

  checkCsrf(request: AdminRequest, principal: AdminPrincipal): void {
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') {
      throw new AppError('FORBIDDEN', 'Console actions are accepted only from the console itself.');
    }
    // The console's own origin: its public URL, or the address it was reached at (a port-forward, development).
    const origin = request.headers.origin;
    const own = origin === this.options.publicOrigin || origin === `${request.protocol}://${request.headers.host}`;
    if (origin !== undefined && !own) {
      throw new AppError('FORBIDDEN', 'Console actions are accepted only from the console itself.');
    }
    const sent = request.headers[CSRF_HEADER];
    const expected = Buffer.from(this.csrfToken(principal));
    // Compared as bytes: a header with a byte above 0x7f reads as one latin1 character but encodes as two.
    const given = typeof sent === 'string' ? Buffer.from(sent) : undefined;
    if (!given || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new AppError('FORBIDDEN', `A console action needs its session's CSRF token in ${CSRF_HEADER}.`);
    }
  }
}
