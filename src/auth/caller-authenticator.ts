import { Injectable, Logger } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { AuditLog } from '../audit/audit-log';
import type { Deadline } from '../common/deadline';
import { AppError } from '../common/errors/app-error';
import { markAudited, offerBasicChallenge } from '../common/http/http-error.filter';
import { runInWorkScope } from '../common/work-scope';
import { isLoopbackAddress } from '../common/net/loopback';
import { AppConfig } from '../config';
import { AuthAttempt, AuthFailureReason, AuthStrategy, ConnectionSecurity } from './auth-attempt';
import type { AuthMethod, RegisteredCaller } from './callers/caller';
import { CallerRegistry, certificateMatches } from './callers/caller-registry';
import { rejectDuplicateCredentialHeaders } from './duplicate-headers';
import { authorizationSyntaxError, MalformedCredentialHeader } from './malformed-credential';
import { BasicStrategy } from './strategies/basic.strategy';
import { BearerStrategy } from './strategies/bearer.strategy';
import { HeaderSignatureStrategy } from './strategies/header-signature.strategy';
import { MtlsStrategy } from './strategies/mtls.strategy';
import { QueryTokenStrategy } from './strategies/query-token.strategy';
import { StandardWebhooksStrategy, WebhookIdReusedError } from './strategies/standard-webhooks.strategy';
import { certificateFailureReason } from './tls/peer-identity';
import type { Platform } from '../common/platform';

const EMPTY = Buffer.alloc(0);
/** How long a caller is asked to wait when the token's verifier cannot be reached (a JWKS, introspection, TokenReview). */
const VERIFIER_RETRY_AFTER_SECONDS = 5;
/** One log line per this long while verifiers are unreachable, however many calls are refused for it. */
const UNAVAILABLE_LOG_INTERVAL_MS = 10_000;
const SIGNATURE_METHODS: ReadonlySet<AuthMethod> = new Set(['standardWebhooks', 'headerSignature']);

/** What a transport knows about one call, in transport-neutral terms (HTTP headers or gRPC metadata). */
export interface CredentialSource {
  /** Lower-case names, one value each (the first), like Node's `IncomingHttpHeaders`. */
  readonly headers: IncomingHttpHeaders;
  /** Every name and value as received, alternating, so a credential sent twice is noticed. */
  readonly rawHeaders: readonly string[];
  /**
   * The bytes a signature covers, exactly as received. Absent when the call has no such bytes (a gRPC
   * message is decoded before we see it): the signature schemes then do not apply at all.
   */
  readonly signedBody?: Buffer;
  readonly connection: ConnectionSecurity;
  readonly remoteAddress?: string;
  readonly requestId?: string;
  /** What was called, for the audit: `POST /v1/webhooks/generic` (no query string), or the gRPC method path. */
  readonly route?: string;
  /** Every value of the route's token query parameter, on an HTTP route that takes one (`QueryTokenParameter`). */
  readonly queryTokens?: readonly string[];
}

export interface AuthenticatedCaller {
  readonly caller: RegisteredCaller;
  readonly method: AuthMethod;
}

/** Credentials that are a signature over the body: only the body and the signed headers are the sender's word. */
const BODY_SIGNATURES: ReadonlySet<AuthMethod> = new Set(['standardWebhooks', 'headerSignature']);

/** Whether the caller proved itself with a signature over the body (Standard Webhooks, a signature header). */
export function signedTheBody(authenticated: AuthenticatedCaller): boolean {
  return BODY_SIGNATURES.has(authenticated.method);
}

/**
 * Authenticates as part of a turn: a database step of the check (the replay window) waits for a pool
 * connection only until the turn's deadline, in a pool share of its own.
 */
export function authenticateWithin(
  authenticator: CallerAuthenticator,
  source: CredentialSource,
  deadline: Deadline,
  admission?: { readonly platform?: () => Platform | undefined },
): Promise<AuthenticatedCaller> {
  return runInWorkScope({ lane: AUTHENTICATION_LANE, deadline }, () => authenticator.authenticate(source, admission));
}

const AUTHENTICATION_LANE = 'authentication';

type AuditedEvent = 'authn_login_fail' | 'authn_token_reuse' | 'authz_fail' | 'input_validation_fail' | 'sequence_fail';

/**
 * Proves who is calling, for every transport. It refuses bad client certificates, then asks the first
 * strategy whose credential the call carries, in this fixed order: Standard Webhooks signature, header
 * signature, bearer token (static, JWT, introspection), basic, a static token in the query (on the routes that
 * take one), client certificate alone. A caller bound to a certificate must also present it. Failures are
 * audited with their reason and all end in the same `UNAUTHENTICATED` error, except a credential header with bad
 * syntax (`MalformedCredentialHeader`), which is a `MALFORMED_REQUEST` naming the header, and a token whose verifier
 * cannot be reached, which is `UNAVAILABLE` (503, Retry-After); a caller on a platform it may not call gets
 * `FORBIDDEN`.
 */
@Injectable()
export class CallerAuthenticator {
  private readonly logger = new Logger('Authentication');
  private readonly strategies: readonly AuthStrategy[];
  private unavailableLoggedAt = 0;

  constructor(
    standardWebhooks: StandardWebhooksStrategy,
    headerSignature: HeaderSignatureStrategy,
    bearer: BearerStrategy,
    basic: BasicStrategy,
    queryToken: QueryTokenStrategy,
    mtls: MtlsStrategy,
    private readonly callers: CallerRegistry,
    private readonly audit: AuditLog,
    private readonly config: AppConfig,
  ) {
    this.strategies = [standardWebhooks, headerSignature, bearer, basic, queryToken, mtls];
  }

  /**
   * Who is calling, and whether they may: the credential, then (with `admission`) the caller's source ranges and
   * platform, and only then what the credential binds (a Standard Webhooks id), so a refused call binds nothing.
   * `admission.platform` is read after the credential, so an unauthenticated call learns nothing else.
   */
  async authenticate(
    source: CredentialSource,
    admission?: { readonly platform?: () => Platform | undefined },
  ): Promise<AuthenticatedCaller> {
    const duplicate = rejectDuplicateCredentialHeaders(source.rawHeaders, this.callers.signatureHeaders());
    if (duplicate) {
      this.record(source, 'input_validation_fail', undefined, 'duplicate-header', duplicate);
      throw markAudited(new AppError('MALFORMED_REQUEST', `The request has more than one ${duplicate} header.`));
    }
    // The same rule for a credential in the query: two tokens are two claims, not a choice.
    if ((source.queryTokens?.length ?? 0) > 1) {
      this.record(source, 'input_validation_fail', 'bearer', 'duplicate-header', 'query token');
      throw markAudited(new AppError('MALFORMED_REQUEST', 'The request has more than one token query parameter.'));
    }

    const { connection } = source;
    if (connection.peer && !connection.clientCertificateVerified) {
      this.fail(
        source,
        'mtls',
        certificateFailureReason(connection.clientCertificateError),
        connection.clientCertificateError,
      );
    }
    // Verified at the handshake, expired since: the connection was kept alive past the certificate's end.
    const { certificateValidUntil } = connection;
    if (
      connection.clientCertificateVerified &&
      certificateValidUntil !== undefined &&
      Date.now() > certificateValidUntil
    ) {
      this.fail(source, 'mtls', 'certificate-expired', 'CERT_HAS_EXPIRED (since the connection was opened)');
    }
    if (this.config.tls?.clientAuth === 'require' && !connection.clientCertificateVerified) {
      this.fail(source, 'mtls', 'certificate-required');
    }

    const attempt: AuthAttempt = {
      headers: source.headers,
      rawBody: source.signedBody ?? EMPTY,
      connection,
      local: isLoopbackAddress(source.remoteAddress),
      nowSeconds: Math.floor(Date.now() / 1000),
      queryTokens: source.queryTokens,
      route: source.route,
    };
    const authorization = source.headers.authorization;
    const badAuthorization = authorization === undefined ? undefined : authorizationSyntaxError(authorization);
    if (badAuthorization) this.malformed(source, badAuthorization);
    const signed = source.signedBody !== undefined;
    const strategy = this.strategies.find(
      (candidate) => (signed || !SIGNATURE_METHODS.has(candidate.method)) && candidate.applies(attempt),
    );
    if (!strategy) this.fail(source, undefined, 'no-credentials');
    const outcome = await strategy.authenticate(attempt).catch((error: unknown) => {
      if (error instanceof MalformedCredentialHeader) this.malformed(source, error, strategy.method);
      throw this.auditRefusal(source, strategy.method, error);
    });
    if (!outcome.ok && outcome.reason === 'verifier-unavailable') {
      this.verifierUnavailable(source, strategy.method, outcome.detail);
    }
    if (!outcome.ok) this.fail(source, strategy.method, outcome.reason, outcome.detail, outcome.callerId);

    const caller = outcome.caller;
    if (caller.loopbackOnly && !attempt.local) {
      this.fail(source, strategy.method, 'loopback-only', source.remoteAddress, caller.id);
    }
    if (caller.certificate && strategy.method !== 'mtls') {
      const bound =
        connection.clientCertificateVerified &&
        connection.peer &&
        certificateMatches(caller.certificate, connection.peer);
      if (!bound) this.fail(source, strategy.method, 'certificate-mismatch', caller.id, caller.id);
    }
    const authenticated = { caller, method: strategy.method };
    if (admission) {
      this.checkSource(authenticated, source);
      const platform = admission.platform?.();
      if (platform) this.authorize(authenticated, platform, source);
    }
    await outcome.onAdmitted?.().catch((error: unknown) => {
      throw this.auditRefusal(source, strategy.method, error);
    });
    return authenticated;
  }

  /** Refuses (and audits) a caller whose `sourceRanges` do not hold the client address (`source.remoteAddress`). */
  checkSource(authenticated: AuthenticatedCaller, source: CredentialSource): void {
    const { caller, method } = authenticated;
    if (!caller.sourceRanges || caller.sourceRanges.contains(source.remoteAddress)) return;
    this.record(source, 'authz_fail', method, 'source-not-allowed', source.remoteAddress, caller.id);
    throw new AppError('FORBIDDEN', 'This caller may not call from this address.');
  }

  /** Refuses (and audits) a caller on a platform it may not call. */
  authorize(authenticated: AuthenticatedCaller, platform: Platform, source: CredentialSource): void {
    const { caller, method } = authenticated;
    if (caller.platforms.includes(platform)) return;
    this.record(source, 'authz_fail', method, 'platform-not-allowed', platform, caller.id);
    throw new AppError('FORBIDDEN', 'This caller may not call this endpoint.');
  }

  /**
   * The token could not be checked: its key set, introspection endpoint or TokenReview did not answer. Not a bad
   * token, so not a 401 (an OAuth client would throw a good token away): 503 with Retry-After, as when the replay
   * window is unreachable. Audited with its reason like a refused credential.
   */
  private verifierUnavailable(source: CredentialSource, method: string, detail: string | undefined): never {
    this.record(source, 'authn_login_fail', method, 'verifier-unavailable', detail);
    if (Date.now() - this.unavailableLoggedAt >= UNAVAILABLE_LOG_INTERVAL_MS) {
      this.unavailableLoggedAt = Date.now();
      this.logger.error(`A token verifier is unavailable, answering 503 (${detail ?? 'no detail'})`);
    }
    throw markAudited(
      new AppError('UNAVAILABLE', 'The credential cannot be checked now; retry shortly.', [], {
        'Retry-After': String(VERIFIER_RETRY_AFTER_SECONDS),
      }),
    );
  }

  /** A credential header with bad syntax: audited like a refused credential, answered 400 naming the header. */
  private malformed(source: CredentialSource, error: MalformedCredentialHeader, method = error.method): never {
    this.record(source, 'authn_login_fail', method, error.reason, error.detail);
    throw markAudited(
      new AppError('MALFORMED_REQUEST', `The ${error.header} header is malformed.`, [
        { field: error.header, problem: error.problem },
      ]),
    );
  }

  /**
   * A strategy throws (rather than returning a failure) for a request it refuses as such: a malformed
   * `webhook-id` (400) or a seen one with another body (422). Audited here, once, with the caller when known.
   */
  private auditRefusal(source: CredentialSource, method: string, error: unknown): unknown {
    if (error instanceof WebhookIdReusedError) {
      this.record(source, 'sequence_fail', method, 'webhook-id-reused', undefined, error.callerId);
      return markAudited(error);
    }
    if (method === 'standardWebhooks' && error instanceof AppError && error.code === 'MALFORMED_REQUEST') {
      this.record(source, 'input_validation_fail', method, 'malformed-webhook-id', error.details[0]?.field);
      return markAudited(error);
    }
    return error;
  }

  private fail(
    source: CredentialSource,
    method: string | undefined,
    reason: AuthFailureReason,
    detail?: string,
    callerId?: string,
  ): never {
    this.record(
      source,
      reason === 'replay' ? 'authn_token_reuse' : 'authn_login_fail',
      method,
      reason,
      detail,
      callerId,
    );
    const refused = new AppError('UNAUTHENTICATED', 'Missing or invalid credentials.');
    // Over HTTP the 401 then challenges for Basic too, so that clients which answer challenges send their password.
    throw this.callers.withMethod('basic').length > 0 ? offerBasicChallenge(refused) : refused;
  }

  private record(
    source: CredentialSource,
    event: AuditedEvent,
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
      remoteAddress: source.remoteAddress,
      requestId: source.requestId,
      route: source.route,
    });
  }
}
