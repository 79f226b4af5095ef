import { ApiOperation } from '@nestjs/swagger';
import { Controller, Get, Req } from '@nestjs/common';
import type { AdminRequest, AdminRole } from './admin-principal';
import { ConsoleOptions } from '../console.options';
import { AdminSessions, CSRF_HEADER } from './admin-sessions';

export interface SessionView {
  readonly subject: string;
  readonly name: string;
  readonly roles: readonly AdminRole[];
  readonly via: 'oidc' | 'local';
  /** To send in the `X-CSRF-Token` header with every action. */
  readonly csrfToken: string;
  readonly csrfHeader: string;
  /** Where a trace id links to (`{traceId}` replaced), when ADMIN_TRACE_URL is set. */
  readonly traceUrl?: string;
}

/** Who the console's user is, what they may do, and the token their actions carry. */
@Controller('api/session')
export class SessionController {
  constructor(
    private readonly sessions: AdminSessions,
    private readonly options: ConsoleOptions,
  ) {}

  @ApiOperation({ summary: 'Who is signed in, their roles, and the CSRF token their actions carry' })
  @Get()
  current(@Req() request: AdminRequest): SessionView {
    const principal = request.principal!;
    return {
      subject: principal.subject,
      name: principal.name,
      roles: principal.roles,
      via: principal.via,
      csrfToken: this.sessions.csrfToken(principal),
      csrfHeader: CSRF_HEADER,
      ...(this.options.traceUrl && { traceUrl: this.options.traceUrl }),
    };
  }
}
