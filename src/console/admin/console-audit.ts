import { Injectable } from '@nestjs/common';
import { AuditLog } from '../../audit/audit-log';
import type { RequestContext } from '../../common/http/request-context';
import type { AdminPrincipal, AdminRequest } from './admin-principal';

/** The audit rows of the console: every action an operator takes, and every action refused. */
@Injectable()
export class ConsoleAudit {
  constructor(private readonly audit: AuditLog) {}

  /** An action done (`delivery_replay`, …), with what it was done to. */
  acted(request: AdminRequest, principal: AdminPrincipal, action: string, detail: string): void {
    this.audit.record({
      event: 'authz_admin',
      outcome: 'success',
      reason: action,
      detail,
      ...this.who(request, principal),
    });
  }

  signedIn(request: AdminRequest, principal: AdminPrincipal): void {
    this.audit.record({
      event: 'authn_login_success',
      outcome: 'success',
      reason: 'console_login',
      detail: `${principal.name} as ${principal.roles.join(', ')}`,
      ...this.who(request, principal),
    });
  }

  signInFailed(request: AdminRequest, reason: string): void {
    this.audit.record({ event: 'authn_login_fail', outcome: 'failure', reason, ...this.who(request, undefined) });
  }

  /** An action the person's role or session did not allow. */
  refused(request: AdminRequest, principal: AdminPrincipal | undefined, reason: string): void {
    this.audit.record({ event: 'authz_fail', outcome: 'failure', reason, ...this.who(request, principal) });
  }

  private who(request: AdminRequest, principal: AdminPrincipal | undefined) {
    return {
      callerId: principal ? `console:${principal.subject}` : 'console:unknown',
      method: 'console',
      remoteAddress: (request as RequestContext).clientAddress ?? request.socket.remoteAddress,
      requestId: (request as RequestContext).requestId,
      route: `${request.method} ${request.path}`,
    };
  }
}
