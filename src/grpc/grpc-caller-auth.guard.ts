import { trace } from '@opentelemetry/api';
import { Metadata } from '@grpc/grpc-js';
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { authenticateWithin, CallerAuthenticator, CredentialSource, signedTheBody } from '../auth/caller-authenticator';
import { Deadline } from '../common/deadline';
import { AppConfig } from '../config';
import { AppError } from '../common/errors/app-error';
import { GrpcAuth } from './grpc-auth.decorator';
import { GrpcUnaryCall, forwardingMetadata, metadataHeaders, remoteAddressOf, requestIdOf } from './grpc-call';
import { GrpcConnections } from './grpc-connections';
import { isUndecodable, refuseUndecodable } from './request-decoding';
import { shareCallState } from './grpc-access-log';
import { EventLoopLoad } from '../observability/event-loop-load';
import { clientCall, PreAuthLimiter } from '../throttling/pre-auth-limiter';
import { authBudgetMs } from './grpc-deadline';
import { onCallEnd } from './call-end';
import { UnauthenticatedCalls } from './unauthenticated-calls';
import { isPlatform, PLATFORMS, Platform } from '../common/platform';

const EMPTY = Buffer.alloc(0);

function platformOf(value: unknown, field: string): Platform {
  if (typeof value === 'string' && (PLATFORMS as readonly string[]).includes(value)) return value as Platform;
  throw new AppError('VALIDATION_FAILED', `The request is invalid: ${field}.`, [
    { field, problem: `must be one of ${PLATFORMS.join(', ')}` },
  ]);
}

/**
 * The gRPC side of `CallerAuthenticator` (CallerAuthGuard's counterpart): credentials from the call metadata
 * (`authorization`, signature entries) and the TLS connection, the platform from the method or the request.
 * Every call gets a request id first (the client's `x-request-id` when safe), sent back in the headers (by the
 * throttler guard, after this one) or in the trailers of a refusal.
 */
@Injectable()
export class GrpcCallerAuthGuard implements CanActivate {
  constructor(
    private readonly authenticator: CallerAuthenticator,
    private readonly connections: GrpcConnections,
    private readonly reflector: Reflector,
    private readonly load: EventLoopLoad,
    private readonly config: AppConfig,
    private readonly preAuth: PreAuthLimiter,
    private readonly unauthenticated: UnauthenticatedCalls,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rpc = context.switchToRpc();
    const request = rpc.getData<Record<string, unknown>>();
    const metadata = rpc.getContext<Metadata>();
    const call = context.getArgByIndex<GrpcUnaryCall>(2);
    // The call's budget starts here, the first code that sees it (less the time it waited behind a busy loop).
    call.arrivedAt = performance.now() - this.load.delayMs;
    // The access log's interceptor decided the id when the call arrived and put it in the metadata.
    call.requestId = requestIdOf(metadata);
    shareCallState(metadata, call);
    // Sent with the rate-limit entries by GrpcCallerThrottlerGuard (initial metadata goes out once).
    call.responseMetadata = new Metadata();
    call.responseMetadata.set('x-request-id', call.requestId);
    if (this.load.refuseNow()) {
      throw new AppError('OVERLOADED', 'The service is too busy to answer in time; retry shortly.', [], {
        'Retry-After': '1',
      });
    }
    // In hand until it ends, however it ends: OVERLOAD_IN_FLIGHT counts gRPC calls with HTTP requests.
    this.load.started();
    onCallEnd(metadata, () => this.load.finished());
    // Before any credential is looked at. gRPC clients send no forwarding metadata of their own; a trusted
    // proxy in front (Envoy, a mesh) adds x-forwarded-for / forwarded like it does for HTTP, and only then is it read.
    const client = this.preAuth.clientAddress(remoteAddressOf(call), forwardingMetadata(metadata));
    call.clientAddress = client.address;
    if (client.address !== undefined) trace.getActiveSpan()?.setAttribute('client.address', client.address);
    await this.preAuth.admit(clientCall(client, call.requestId, call.getPath()));

    const options = this.reflector.get(GrpcAuth, context.getHandler());
    if (!options) throw new Error(`${context.getClass().name}.${context.getHandler().name} has no @GrpcAuth()`);
    const signed = options.signedField === undefined ? undefined : request[options.signedField];
    const { headers, rawHeaders } = metadataHeaders(metadata);
    const source: CredentialSource = {
      headers,
      rawHeaders,
      signedBody: options.signedField === undefined ? undefined : Buffer.isBuffer(signed) ? signed : EMPTY,
      connection: this.connections.security(call),
      remoteAddress: call.clientAddress,
      requestId: call.requestId,
      route: call.getPath(),
    };
    const named = typeof options.platform === 'string' ? options.platform : request[options.platform.field];
    const arrivedAt = call.arrivedAt ?? performance.now();
    const budgetMs = authBudgetMs(
      call.getDeadline(),
      this.config.fulfillment.deadlinesMs[isPlatform(named) ? named : 'generic'],
      performance.now() - arrivedAt,
    );
    // Credentials first: an unauthenticated call learns nothing about what else is wrong with it.
    const platformOption = options.platform;
    const platform = (): Platform =>
      typeof platformOption === 'string'
        ? platformOption
        : platformOf(request[platformOption.field], platformOption.field);
    const authenticated = await authenticateWithin(
      this.authenticator,
      source,
      Deadline.after(budgetMs, arrivedAt),
      // Bytes that did not decode name no platform: they are refused below, to a caller who proved who it is.
      { platform: () => (isUndecodable(request) ? undefined : platform()) },
    );
    // Its request is the caller's own from here, no longer part of what unknown callers may hold together.
    this.unauthenticated.authenticated(metadata);
    const { caller } = authenticated;
    call.caller = { id: caller.id, platforms: caller.platforms };
    call.callerRateLimit = caller.rateLimit;
    call.bodySigned = signedTheBody(authenticated);
    refuseUndecodable(request);
    call.platform = platform();
    return true;
  }
}
