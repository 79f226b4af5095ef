import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import type { Response } from 'express';
import { channel } from 'node:diagnostics_channel';
import { AppError, ErrorCode, ErrorDetail } from '../errors/app-error';
import { allowedMethods } from './allowed-methods';
import type { RequestContext } from './request-context';

/** The HTTP status of each error code (gRPC's filter reads it too, to audit the same refusals). */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  MALFORMED_JSON: HttpStatus.BAD_REQUEST,
  MALFORMED_REQUEST: HttpStatus.BAD_REQUEST,
  RATE_LIMITED: HttpStatus.TOO_MANY_REQUESTS,
  VALIDATION_FAILED: HttpStatus.BAD_REQUEST,
  PAYLOAD_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  UNSUPPORTED_MEDIA_TYPE: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  UNAUTHENTICATED: HttpStatus.UNAUTHORIZED,
  FORBIDDEN: HttpStatus.FORBIDDEN,
  NOT_FOUND: HttpStatus.NOT_FOUND,
  IDEMPOTENCY_IN_PROGRESS: HttpStatus.CONFLICT,
  IDEMPOTENCY_KEY_REUSED: HttpStatus.UNPROCESSABLE_ENTITY,
  UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  OVERLOADED: HttpStatus.SERVICE_UNAVAILABLE,
  DEADLINE_EXCEEDED: HttpStatus.GATEWAY_TIMEOUT,
  INTERNAL: HttpStatus.INTERNAL_SERVER_ERROR,
};

const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  // A bare 400 (Nest's for a path whose percent-encoding does not decode); the body reader names its own errors.
  400: 'MALFORMED_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

/**
 * A refusal for the audit trail, published on `refusals` (the audit module subscribes; publishing costs nothing
 * while nobody does). Never a body, a header value or a token: only what identifies the call and why.
 */
export interface Refusal {
  readonly event: 'input_validation_fail' | 'sequence_fail' | 'malicious_ssrf';
  readonly reason: string;
  readonly route?: string;
  readonly callerId?: string;
  readonly remoteAddress?: string;
  readonly requestId?: string;
  readonly detail?: string;
  /** The express application that answered, so that only its own audit log records it; absent outside HTTP. */
  readonly app?: unknown;
}

export const refusals = channel('webhook-fulfillment.refusals');

/**
 * 401s refused where basic callers are configured (the authenticator marks them): the challenge offers `Basic` besides
 * `Bearer`, so clients that answer a challenge (curl --anyauth, .NET, Java) send their password. `common` cannot ask
 * the callers file itself (it sits above it), so the one who knows says so on the error.
 */
const basicOffered = new WeakSet<object>();

export function offerBasicChallenge<E extends object>(error: E): E {
  basicOffered.add(error);
  return error;
}

/** Errors whose thrower already audited them (the authenticator): the filters do not audit them again. */
const audited = new WeakSet<object>();

export function markAudited<E extends object>(error: E): E {
  audited.add(error);
  return error;
}

/**
 * The refusal to audit for an error answered to a client, if any: 400, 405, 413, 415 and the idempotency
 * conflicts. Rate limits (429) and authentication/authorization failures are audited where they are decided.
 */
export function refusalFor(exception: unknown, statusCode: number, error: string): Refusal | undefined {
  if (typeof exception === 'object' && exception !== null && audited.has(exception)) return undefined;
  if (error === 'IDEMPOTENCY_IN_PROGRESS' || error === 'IDEMPOTENCY_KEY_REUSED') {
    return { event: 'sequence_fail', reason: error.toLowerCase() };
  }
  if (statusCode === 400 || statusCode === 405 || statusCode === 413 || statusCode === 415) {
    return { event: 'input_validation_fail', reason: error.toLowerCase() };
  }
  return undefined;
}

export interface ErrorBody {
  statusCode: number;
  error: ErrorCode | 'METHOD_NOT_ALLOWED' | 'HTTP_ERROR';
  message: string;
  details?: readonly ErrorDetail[];
  requestId?: string;
}

/**
 * The answer a layer above `common` gives an error only it can recognize (the database's outage is the
 * database module's to know), with why, for the log; undefined for any other error.
 */
export type ErrorTranslator = (exception: unknown) => { answer: AppError; why: string } | undefined;

/**
 * The one place HTTP errors are shaped: always JSON `{statusCode, error, message, details?, requestId}`,
 * never HTML, a stack trace or an internal message.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  /**
   * `challenge`: the `WWW-Authenticate` value(s) of a 401 on this listener: by default the webhooks' (bearer tokens,
   * and basic credentials where the error offers them), one header line per challenge.
   */
  constructor(
    private readonly translate: ErrorTranslator = () => undefined,
    private readonly challenge: (request: RequestContext, exception: unknown) => string | string[] = (
      request,
      exception,
    ) => webhookChallenges(request.headers.authorization, exception),
  ) {}

  catch(thrown: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<RequestContext>();
    const response = http.getResponse<Response>();
    const translated =
      thrown instanceof HttpException || thrown instanceof AppError ? undefined : this.translate(thrown);
    const exception = translated?.answer ?? thrown;
    if (translated) {
      this.logger.warn(
        `${request.method} ${request.path} answered ${translated.answer.code} (request ${request.requestId}): ${translated.why}`,
      );
    }
    if (exception instanceof HttpException && exception.getStatus() === 503 && request.path.startsWith('/health/')) {
      // @nestjs/terminus reports an unhealthy check this way: its body (which indicator is down) is the answer.
      response.status(503).json(exception.getResponse());
      return;
    }
    // No route took the request: when routes have its path with other methods, 405 and what they allow.
    const allowed = exception instanceof NotFoundException ? allowedMethods(request) : [];
    const methodNotAllowed = allowed.length > 0 && !allowed.includes(request.method) && !allowed.includes('*');
    const body: ErrorBody = methodNotAllowed
      ? { statusCode: 405, error: 'METHOD_NOT_ALLOWED', message: messageFor(405) }
      : this.toBody(exception);
    body.requestId = request.requestId;

    if (body.statusCode >= 500 && body.error !== 'UNAVAILABLE' && body.error !== 'OVERLOADED') {
      const stack = exception instanceof Error ? exception.stack : String(exception);
      this.logger.error(`${request.method} ${request.path} failed (request ${request.requestId})`, stack);
    }
    if (response.headersSent) {
      response.end();
      return;
    }
    if (exception instanceof AppError) {
      for (const [name, value] of Object.entries(exception.headers)) response.setHeader(name, value);
    }
    if (methodNotAllowed) response.setHeader('Allow', allowed.join(', '));
    if (body.statusCode === 401) {
      response.setHeader('WWW-Authenticate', this.challenge(request, exception));
    }
    response.status(body.statusCode).json(body);
    const refusal = refusals.hasSubscribers ? refusalFor(exception, body.statusCode, body.error) : undefined;
    if (refusal) {
      refusals.publish({
        ...refusal,
        route: `${request.method} ${request.path}`,
        callerId: request.caller?.id,
        remoteAddress: request.clientAddress ?? request.socket.remoteAddress,
        requestId: request.requestId,
        detail: body.details?.map((detail) => detail.field).join(', '),
        app: request.app,
      } satisfies Refusal);
    }
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof AppError) {
      const body: ErrorBody = {
        statusCode: STATUS_BY_CODE[exception.code],
        error: exception.code,
        message: exception.message,
      };
      if (exception.details.length > 0) body.details = exception.details;
      return body;
    }
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      if (statusCode >= 500) return this.internal();
      return { statusCode, error: CODE_BY_STATUS[statusCode] ?? 'HTTP_ERROR', message: messageFor(statusCode) };
    }
    return this.internal();
  }

  private internal(): ErrorBody {
    return { statusCode: 500, error: 'INTERNAL', message: 'Internal error. Quote the request id when reporting it.' };
  }
}

const REALM = 'webhook-fulfillment';

/**
 * RFC 6750 §3: `error="invalid_token"` when a refused request sent a bearer token, no error code when it sent none.
 * Where the error offers it, also RFC 7617's `Basic` (with `charset="UTF-8"`: passwords are read as UTF-8), except
 * to a request that sent a bearer token: its client is told about its token only.
 */
function webhookChallenges(authorization: string | undefined, exception?: unknown): string | string[] {
  const bearer = /^Bearer\s/i.test(authorization ?? '');
  const challenge = bearer ? `Bearer realm="${REALM}", error="invalid_token"` : `Bearer realm="${REALM}"`;
  const basic = typeof exception === 'object' && exception !== null && basicOffered.has(exception);
  return basic && !bearer ? [challenge, `Basic realm="${REALM}", charset="UTF-8"`] : challenge;
}

function messageFor(status: number): string {
  switch (status) {
    case 404:
      return 'No such endpoint.';
    case 405:
      return 'Method not allowed on this endpoint.';
    case 429:
      return 'Too many requests; retry after the time in Retry-After.';
    default:
      return 'The request could not be processed.';
  }
}
