import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppError } from '../../common/errors/app-error';
import { type AdminRequest, type AdminRole, hasRole } from './admin-principal';
import { AdminSessions } from './admin-sessions';
import { SessionRevocations } from '../sessions/session-revocations';
import { ConsoleAudit } from './console-audit';

const ROLE = 'console:role';
const PUBLIC = 'console:public';

/** The role a route needs (`viewer` when not said). */
export const RequiresRole = (role: AdminRole) => SetMetadata(ROLE, role);

/** A route anyone may reach: the sign-in's own steps. */
export const PublicRoute = () => SetMetadata(PUBLIC, true);

/** What a route asks of its user, as the guard reads it: nothing (public), or a role. */
export function routeAccess(
  reflector: Reflector,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- what ExecutionContext hands out
  handler: Function,
  controller: abstract new (...args: never[]) => unknown,
): 'public' | AdminRole {
  if (reflector.getAllAndOverride<boolean>(PUBLIC, [handler, controller])) return 'public';
  return reflector.getAllAndOverride<AdminRole | undefined>(ROLE, [handler, controller]) ?? 'viewer';
}

/**
 * Every admin route: who is asking (a console session, or the local operator in development), whether their role
 * allows the route, and, for anything that changes state, the CSRF token of their session; a read another site
 * started is refused.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    private readonly sessions: AdminSessions,
    private readonly reflector: Reflector,
    private readonly audit: ConsoleAudit,
    private readonly revocations: SessionRevocations,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AdminRequest>();
    const access = routeAccess(this.reflector, context.getHandler(), context.getClass());
    if (access === 'public') return true;
    const principal = this.sessions.principalOf(request);
    if (!principal) throw new AppError('UNAUTHENTICATED', 'Log in to the console first.');
    if (principal.via === 'oidc' && (await this.revocations.isRevoked(principal))) {
      throw new AppError('UNAUTHENTICATED', 'This session was signed out; sign in again.');
    }
    request.principal = principal;
    if (!hasRole(principal, access)) {
      this.audit.refused(request, principal, 'console_role');
      throw new AppError(
        'FORBIDDEN',
        `This needs the ${access} role; you have ${principal.roles.join(', ') || 'none'}.`,
      );
    }
    if (!SAFE_METHODS.has(request.method)) {
      try {
        this.sessions.checkCsrf(request, principal);
      } catch (error: unknown) {
        this.audit.refused(request, principal, 'console_csrf');
        throw error;
      }
    } else if (OTHER_SITES.has(String(request.headers['sec-fetch-site']))) {
      // A link on another site opens a read with the session cookie (SameSite=Lax allows top-level navigation):
      // some reads are audited actions (captured bodies, the audit export), and none is meant for another site.
      this.audit.refused(request, principal, 'console_cross_site');
      throw new AppError(
        'FORBIDDEN',
        'Console data is served only to the console itself, not to links from other sites.',
      );
    }
    return true;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Sec-Fetch-Site of a request another site started (`none` is the address bar or a bookmark). */
const OTHER_SITES = new Set(['cross-site', 'same-site']);
