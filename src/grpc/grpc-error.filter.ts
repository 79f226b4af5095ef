import { ArgumentsHost, Catch, Logger, RpcExceptionFilter } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';
import { AppError } from '../common/errors/app-error';
import { type Refusal, refusalFor, refusals, STATUS_BY_CODE } from '../common/http/http-error.filter';
import type { GrpcCallState } from './grpc-call';
import { GrpcErrorStatus, toGrpcStatus } from './grpc-status';

/**
 * The one place gRPC errors are shaped (HttpErrorFilter's counterpart): a status code from the error code,
 * our message with the offending fields, the request id in the trailers; internals are logged, never sent.
 */
@Catch()
export class GrpcErrorFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('GrpcError');

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    const call = host.getArgByIndex<(GrpcCallState & { getPath?: () => string }) | undefined>(2);
    const requestId = call?.requestId;
    if (!(exception instanceof AppError)) {
      const stack = exception instanceof Error ? exception.stack : String(exception);
      this.logger.error(`${call?.getPath?.() ?? 'gRPC call'} failed (request ${requestId ?? '-'})`, stack);
    }
    const status: GrpcErrorStatus = toGrpcStatus(exception, requestId);
    if (exception instanceof AppError) publishGrpcRefusal(exception, call);
    return throwError(() => status);
  }
}

/** The refusals HTTP audits (as its 400/413/415 and idempotency conflicts), with the gRPC method as the route. */
export function publishGrpcRefusal(
  exception: AppError,
  call: (GrpcCallState & { getPath?: () => string }) | undefined,
): void {
  if (!refusals.hasSubscribers) return;
  const refusal = refusalFor(exception, STATUS_BY_CODE[exception.code], exception.code);
  if (!refusal) return;
  refusals.publish({
    ...refusal,
    route: call?.getPath?.(),
    callerId: call?.caller?.id,
    remoteAddress: call?.clientAddress,
    requestId: call?.requestId,
    detail: exception.details.map((detail) => detail.field).join(', ') || undefined,
  } satisfies Refusal);
}
