import { ApiOperation } from '@nestjs/swagger';
import { Body, Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import type { AdminRequest, AdminRole } from './admin-principal';
import { ConsoleOptions } from '../console.options';
import { SessionRevocations } from '../sessions/session-revocations';
import { RequiresRole } from './admin-auth.guard';
import { AdminSessions, CSRF_HEADER } from './admin-sessions';
import { ConsoleAudit } from './console-audit';
import { EndSessionsOf } from './session.dto';

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

export interface EndedSessions {
  readonly subject: string;
  /** Every session of the subject signed in at or before this instant is ended; a later sign-in is not. */
  readonly signedInBefore: string;
}

/** Who the console's user is, what they may do, and the token their actions carry; ending someone's sessions. */
@Controller('api/session')
export class SessionController {
  constructor(
    private readonly sessions: AdminSessions,
    private readonly options: ConsoleOptions,
    private readonly revocations: SessionRevocations,
    private readonly audit: ConsoleAudit,
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

  @ApiOperation({
    summary:
      "End every console session of a person on every replica (someone removed or demoted at the identity provider keeps their cookie's roles until it expires)",
  })
  @Post('revocations')
  @HttpCode(201)
  @RequiresRole('operator')
  async endSessionsOf(@Body() { subject }: EndSessionsOf, @Req() request: AdminRequest): Promise<EndedSessions> {
    const signedInBefore = await this.revocations.endSessionsOf(subject);
    this.audit.acted(request, request.principal!, 'console_sessions_end', subject);
    return { subject, signedInBefore: signedInBefore.toISOString() };
  }
}
