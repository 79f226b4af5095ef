import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuditLog } from '../audit/audit-log';
import { AppError } from '../common/errors/app-error';
import type { RequestContext } from '../common/http/request-context';
import { AppConfig } from '../config';
import { AuthAttempt, AuthFailureReason, AuthStrategy } from './auth-attempt';
import { CallerRegistry, certificateMatches } from './callers/caller-registry';
import { rejectDuplicateCredentialHeaders } from './duplicate-headers';
import { BasicStrategy } from './strategies/basic.strategy';
import { BearerStrategy } from './strategies/bearer.strategy';
import { HeaderSignatureStrategy } from './strategies/header-signature.strategy';
import { MtlsStrategy } from './strategies/mtls.strategy';
import { StandardWebhooksStrategy } from './strategies/standard-webhooks.strategy';
import { certificateFailureReason, connectionSecurity } from './tls/peer-identity';
import { WebhookPlatform } from './webhook-platform.decorator';

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;
const EMPTY = Buffer.alloc(0);

/**
 * Every webhook route sits behind this guard. It refuses bad client certificates, then asks the first
 * strategy whose credential the request carries, in this fixed order: Standard Webhooks signature,
 * header signature, bearer token (static, JWT, introspection), basic, client certificate alone.
 * A caller bound to a certificate must also present it. Failures are audited with their reason and
 * answered with the same 401 body; a caller on a platform it may not call gets 403.
 */
@Injectable()
export class CallerAuthGuard implements CanActivate {
  private readonly strategies: readonly AuthStrategy[];

  constructor(
    standardWebhooks: StandardWebhooksStrategy,
    headerSignature: HeaderSignatureStrategy,
    bearer: BearerStrategy,
    basic: BasicStrategy,
    mtls: MtlsStrategy,
    private readonly callers: CallerRegistry,
    private readonly reflector: Reflector,
    private readonly audit: AuditLog,
    private readonly config: AppConfig,
  ) {
    this.strategies = [standardWebhooks, headerSignature, bearer, basic, mtls];
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestContext>();
    const duplicate = rejectDuplicateCredentialHeaders(request.rawHeaders, this.callers.signatureHeaders());
    if (duplicate) {
      this.record(request, 'input_validation_fail', undefined, 'duplicate-header', duplicate);
      throw new AppError('MALFORMED_REQUEST', `The request has more than one ${duplicate} header.`);
    }

    const connection = connectionSecurity(request.socket);
    if (connection.peer && !connection.clientCertificateVerified) {
      this.fail(
        request,
        'mtls',
        certificateFailureReason(connection.clientCertificateError),
        connection.clientCertificateError,
      );
    }
    if (this.config.tls?.clientAuth === 'require' && !connection.clientCertificateVerified) {
      this.fail(request, 'mtls', 'certificate-required');
    }

    const attempt: AuthAttempt = {
      headers: request.headers,
      rawBody: request.rawBody ?? EMPTY,
      connection,
      local: LOOPBACK.test(request.socket.remoteAddress ?? ''),
      nowSeconds: Math.floor(Date.now() / 1000),
    };
    const strategy = this.strategies.find((candidate) => candidate.applies(attempt));
    if (!strategy) this.fail(request, undefined, 'no-credentials');
    const outcome = await strategy.authenticate(attempt);
    if (!outcome.ok) this.fail(request, strategy.method, outcome.reason, outcome.detail, outcome.callerId);

    const caller = outcome.caller;
    if (caller.certificate && strategy.method !== 'mtls') {
      const bound =
        connection.clientCertificateVerified &&
        connection.peer &&
        certificateMatches(caller.certificate, connection.peer);
      if (!bound) this.fail(request, strategy.method, 'certificate-mismatch', caller.id, caller.id);
    }
    const platform = this.reflector.getAllAndOverride(WebhookPlatform, [context.getHandler(), context.getClass()]);
    if (platform && !caller.platforms.includes(platform)) {
      this.record(request, 'authz_fail', strategy.method, 'platform-not-allowed', platform, caller.id);
      throw new AppError('FORBIDDEN', 'This caller may not call this endpoint.');
    }
    request.caller = { id: caller.id, platforms: caller.platforms };
    request.callerRateLimit = caller.rateLimit;
    return true;
  }

  private fail(
    request: RequestContext,
    method: string | undefined,
    reason: AuthFailureReason,
    detail?: string,
    callerId?: string,
  ): never {
    this.record(
      request,
      reason === 'replay' ? 'authn_token_reuse' : 'authn_login_fail',
      method,
      reason,
      detail,
      callerId,
    );
    throw new AppError('UNAUTHENTICATED', 'Missing or invalid credentials.');
  }

  private record(
    request: RequestContext,
    event: 'authn_login_fail' | 'authn_token_reuse' | 'authz_fail' | 'input_validation_fail',
    method: string | undefined,
    reason: string,
    detail?: string,
    callerId?: string,
  ): void {
    this.audit.record({
      event,
      outcome: 'failure',
      callerId,
      method,
      reason,
      detail,
      remoteAddress: request.socket.remoteAddress,
      requestId: request.requestId,
    });
  }
}
