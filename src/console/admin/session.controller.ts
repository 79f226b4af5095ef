import { ApiOperation } from '@nestjs/swagger';
import { Controller, Get, Req } from '@nestjs/common';
import type { AdminRequest, AdminRole } from './admin-principal';
import { AdminSessions, CSRF_HEADER } from './admin-sessions';

export interface SessionView {
  readonly subject: string;
  readonly name: string;
  readonly roles: readonly AdminRole[];
  readonly via: 'oidc' | 'local';
  /** To send in the `X-CSRF-Token` header with every action. */
  readonly csrfToken: string;
  readonly csrfHeader: string;
}

/** Who the console's user is, what they may do, and the token their actions carry. */
@Controller('api/session')
export class SessionController {
  constructor(private readonly sessions: AdminSessions) {}

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
    };
  }
}
