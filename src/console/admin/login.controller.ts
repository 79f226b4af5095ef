import { ApiOperation } from '@nestjs/swagger';
import { Controller, Get, HttpCode, Post, Query, Redirect, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { AppError } from '../../common/errors/app-error';
import { SessionRevocations } from '../sessions/session-revocations';
import type { AdminRequest } from './admin-principal';
import { PublicRoute } from './admin-auth.guard';
import { AdminSessions } from './admin-sessions';
import { ConsoleAudit } from './console-audit';
import { LoginFailed, OidcLogin } from './oidc-login';
import { SignInLimit } from './sign-in-limit';

/** Signing in through the identity provider, and out. */
@Controller()
export class LoginController {
  constructor(
    private readonly login: OidcLogin,
    private readonly sessions: AdminSessions,
    private readonly audit: ConsoleAudit,
    private readonly revocations: SessionRevocations,
    private readonly limit: SignInLimit,
  ) {}

  /** Sends the browser to the identity provider. */
  @ApiOperation({ summary: 'Start signing in with the identity provider (a redirect)' })
  @Get('login')
  @PublicRoute()
  @Redirect()
  async begin(
    @Req() request: AdminRequest,
    @Res({ passthrough: true }) response: Response,
  ): Promise<{ url: string; statusCode: number }> {
    this.limit.admit(request);
    const { location, state } = await this.login.begin();
    response.setHeader('Set-Cookie', this.sessions.loginCookie(state));
    return { url: location, statusCode: 302 };
  }

  /** Where the identity provider sends the browser back: the session starts here. */
  @ApiOperation({ summary: "The identity provider's redirect back: sets the session cookie" })
  @Get('callback')
  @PublicRoute()
  @Redirect()
  async callback(
    @Query() query: Record<string, unknown>,
    @Req() request: AdminRequest,
    @Res({ passthrough: true }) response: Response,
  ): Promise<{ url: string; statusCode: number }> {
    this.limit.admit(request);
    try {
      const principal = await this.login.complete(query, this.sessions.loginState(request));
      response.setHeader('Set-Cookie', [this.sessions.sessionCookie(principal), this.sessions.clearingLoginCookie()]);
      this.audit.signedIn(request, principal);
      return { url: '/', statusCode: 302 };
    } catch (error: unknown) {
      if (!(error instanceof LoginFailed)) throw error;
      this.audit.signInFailed(request, error.reason);
      response.setHeader('Set-Cookie', this.sessions.clearingLoginCookie());
      throw new AppError('UNAUTHENTICATED', error.message);
    }
  }

  /** Ends the session (an action: it needs the session's CSRF token). */
  @ApiOperation({ summary: 'Sign out: ends the session on every replica' })
  @Post('logout')
  @HttpCode(204)
  async logout(@Req() request: AdminRequest, @Res({ passthrough: true }) response: Response): Promise<void> {
    const principal = request.principal!;
    // The cookie is cleared in this browser; a copy of it (another tab's, a stolen one) is refused from now on.
    if (principal.via === 'oidc' && principal.expiresAt !== undefined) {
      await this.revocations.revoke(principal.sessionId, new Date(principal.expiresAt));
    }
    response.setHeader('Set-Cookie', this.sessions.clearingCookies());
    this.audit.acted(request, principal, 'logout', principal.via);
  }
}
