import {
  type Metadata,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import { Injectable, Logger } from '@nestjs/common';
import type { AuthAttempt, AuthStrategy } from '../auth/auth-attempt';
import { CallerAuthenticator, type CredentialSource } from '../auth/caller-authenticator';
import type { AuthMethod } from '../auth/callers/caller';
import { BasicStrategy } from '../auth/strategies/basic.strategy';
import { BearerStrategy } from '../auth/strategies/bearer.strategy';
import { HeaderSignatureStrategy } from '../auth/strategies/header-signature.strategy';
import { MtlsStrategy } from '../auth/strategies/mtls.strategy';
import { StandardWebhooksStrategy } from '../auth/strategies/standard-webhooks.strategy';
import { AppError } from '../common/errors/app-error';
import { EventLoopLoad } from '../observability/event-loop-load';
import { clientCall, PreAuthLimiter } from '../throttling/pre-auth-limiter';
import { shareCallState } from './grpc-access-log';
import { forwardingMetadata, type GrpcCallState, metadataHeaders, remoteAddressOf, requestIdOf } from './grpc-call';
import { GrpcConnections } from './grpc-connections';
import { publishGrpcRefusal } from './grpc-error.filter';
import { type GrpcErrorStatus, toGrpcStatus } from './grpc-status';

const EMPTY = Buffer.alloc(0);
const SIGNATURE_METHODS: ReadonlySet<AuthMethod> = new Set(['standardWebhooks', 'headerSignature']);
const BUDGET_LOG_INTERVAL_MS = 60_000;
/** The part of the budget one client address may hold: one address alone cannot fill it and stall everyone else. */
const ADDRESS_SHARE = 4;

/** A method whose calls are authenticated, and whether signature schemes (over its request's bytes) apply to it. */
export interface AuthenticatedMethod {
  readonly signed: boolean;
}

export interface UnauthenticatedCallsOptions {
  /** The methods behind the caller guard, by path; every other method (health, reflection) is never authenticated. */
  readonly authenticated: Readonly<Record<string, AuthenticatedMethod>>;
  /**
   * Request bytes all calls not yet authenticated may hold together, a quarter of it per client address (as the
   * pre-auth limit tells addresses: behind TRUSTED_PROXIES, the forwarded one); past either a call is refused
   * (UNAVAILABLE). Calls of methods never authenticated (health, reflection) count against their address's share only,
   * so a flood cannot take the readiness probe's health checks with it.
   */
  readonly budgetBytes: number;
}

/** What a grpc-js call reads its request from: found under its interceptors (grpc-js 1.14 keeps it private). */
interface RequestStream {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
}

function requestStreamOf(call: ServerInterceptingCallInterface): RequestStream | undefined {
  let current: unknown = call;
  for (let depth = 0; depth < 64 && typeof current === 'object' && current !== null; depth++) {
    const { stream, nextCall } = current as { stream?: unknown; nextCall?: unknown };
    if (typeof stream === 'object' && stream !== null && typeof (stream as RequestStream).on === 'function') {
      return stream as RequestStream;
    }
    current = nextCall;
  }
  return undefined;
}

/** One call's share of the budget, from its first request byte until it is authenticated or ends. */
class Holding {
  bytes = 0;
  released = false;
  /** The client address the bytes count against (known once the metadata arrived). */
  address = '';
  /** Whether the bytes count against the process-wide budget too (calls of authenticated methods). */
  global = true;
}

/**
 * What a call may hold before its caller is known. grpc-js reads a call's whole request (up to the message size limit)
 * before any guard runs, and waits up to HTTP_REQUEST_TIMEOUT_MS for it: 100 streams on each of a few connections,
 * each sending 1 MiB without ending its request, held hundreds of megabytes, without a credential.
 * - A call to an authenticated method whose metadata carries no credential any scheme could use is refused from its
 *   metadata, before a byte of its request is read: answered and audited as the guard would answer it (the event loop
 *   and pre-auth limits first, then UNAUTHENTICATED, audited `no-credentials`, or what is wrong with the connection's
 *   certificate or a credential header).
 * - The request bytes of every call not yet authenticated (those carrying some credential, until the guard has
 *   checked it; health and reflection calls, until their message has arrived) count against one process-wide budget;
 *   the call whose bytes go past it is refused with UNAVAILABLE (`OVERLOADED`, retry-after 1), and its bytes let go.
 * Put its interceptor after the access log and `cutUnfinishedRequests` among the server's interceptors (so both see
 * the status); the guard reports each call it authenticated (`authenticated`).
 */
@Injectable()
export class UnauthenticatedCalls {
  private readonly logger = new Logger('GrpcUnauthenticated');
  private readonly strategies: readonly AuthStrategy[];
  private readonly holdings = new WeakMap<Metadata, Holding>();
  private heldBytes = 0;
  private readonly heldByAddress = new Map<string, number>();
  private lastBudgetLog = -Infinity;
  private refusedSinceLog = 0;

  constructor(
    private readonly authenticator: CallerAuthenticator,
    standardWebhooks: StandardWebhooksStrategy,
    headerSignature: HeaderSignatureStrategy,
    bearer: BearerStrategy,
    basic: BasicStrategy,
    mtls: MtlsStrategy,
    private readonly connections: GrpcConnections,
    private readonly load: EventLoopLoad,
    private readonly preAuth: PreAuthLimiter,
  ) {
    // The schemes a gRPC call can carry (a token in the query is HTTP's alone).
    this.strategies = [standardWebhooks, headerSignature, bearer, basic, mtls];
  }

  /** Request bytes held by calls not yet authenticated. */
  get bytesHeld(): number {
    return this.heldBytes;
  }

  /** The guard authenticated the call whose metadata this is: its request no longer counts against the budget. */
  authenticated(metadata: Metadata): void {
    const holding = this.holdings.get(metadata);
    if (holding) this.release(holding);
  }

  /** The server interceptor. */
  interceptor(options: UnauthenticatedCallsOptions): ServerInterceptor {
    let warned = false;
    return (method, call) => {
      const authenticated = options.authenticated[method.path] as AuthenticatedMethod | undefined;
      const holding = new Holding();
      const stream = requestStreamOf(call);
      if (!stream && !warned) {
        warned = true;
        this.logger.warn(
          'Cannot see gRPC request bytes with this grpc-js version: what calls not yet authenticated hold is not ' +
            'bounded (calls without any credential are still refused before their request is read)',
        );
      }
      const addressShare = Math.floor(options.budgetBytes / ADDRESS_SHARE);
      const onData = (chunk: Buffer): void => {
        if (holding.released) return;
        holding.bytes += chunk.length;
        if (holding.global) this.heldBytes += chunk.length;
        const byAddress = (this.heldByAddress.get(holding.address) ?? 0) + chunk.length;
        this.heldByAddress.set(holding.address, byAddress);
        if (byAddress > addressShare || this.heldBytes > options.budgetBytes) {
          this.overBudget(intercepted, holding, requestId);
        }
      };
      let requestId: string | undefined;
      const end = (): void => {
        stream?.off('data', onData);
        this.release(holding);
      };
      const intercepted: ServerInterceptingCall = new ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveMetadata: (metadata, nextMetadata) => {
              requestId = requestIdOf(metadata);
              if (authenticated && !this.carriesCredential(metadata, call, authenticated.signed)) {
                void this.refuse(metadata, call, method.path, authenticated.signed).then((status) => {
                  if (status) intercepted.sendStatus(status);
                  else nextMetadata(metadata);
                });
                return;
              }
              this.holdings.set(metadata, holding);
              holding.address = this.clientOf(metadata, call).address ?? '';
              holding.global = authenticated !== undefined;
              // grpc-js reads nothing before the handler's first read, which follows the metadata.
              stream?.on('data', onData);
              nextMetadata(metadata);
            },
            onReceiveMessage: (message, nextMessage) => {
              // A method without credentials holds its message only until the handler has it.
              if (!authenticated) this.release(holding, true);
              nextMessage(message);
            },
            onCancel: end,
          }),
        sendStatus: (status, nextStatus) => {
          end();
          nextStatus(status);
        },
      });
      return intercepted;
    };
  }

  /** Whether a scheme the method accepts finds its kind of credential in the metadata or on the connection. */
  private carriesCredential(metadata: Metadata, call: ServerInterceptingCallInterface, signed: boolean): boolean {
    const attempt: AuthAttempt = {
      headers: metadataHeaders(metadata).headers,
      rawBody: EMPTY,
      connection: this.connections.security(call),
      local: false,
      nowSeconds: Math.floor(Date.now() / 1000),
    };
    return this.strategies.some(
      (strategy) => (signed || !SIGNATURE_METHODS.has(strategy.method)) && strategy.applies(attempt),
    );
  }

  /**
   * What the guard would answer a call without credentials, in its order: the event loop's load, the address's
   * pre-auth budget, then the authenticator (which audits the refusal). Undefined if, against expectation, the
   * authenticator lets it through: the guard then decides.
   */
  private async refuse(
    metadata: Metadata,
    call: ServerInterceptingCallInterface,
    route: string,
    signed: boolean,
  ): Promise<GrpcErrorStatus | undefined> {
    const state: GrpcCallState = { requestId: requestIdOf(metadata) };
    shareCallState(metadata, state);
    try {
      if (this.load.refuseNow()) {
        throw new AppError('OVERLOADED', 'The service is too busy to answer in time; retry shortly.', [], {
          'Retry-After': '1',
        });
      }
      const client = this.clientOf(metadata, call);
      state.clientAddress = client.address;
      await this.preAuth.admit(clientCall(client, state.requestId, route));
      const { headers, rawHeaders } = metadataHeaders(metadata);
      const source: CredentialSource = {
        headers,
        rawHeaders,
        signedBody: signed ? EMPTY : undefined,
        connection: this.connections.security(call),
        remoteAddress: state.clientAddress,
        requestId: state.requestId,
        route,
      };
      await this.authenticator.authenticate(source);
      return undefined;
    } catch (error: unknown) {
      if (!(error instanceof AppError)) {
        this.logger.error(
          `${route} failed (request ${state.requestId ?? '-'})`,
          error instanceof Error ? error.stack : String(error),
        );
      } else {
        publishGrpcRefusal(error, { ...state, getPath: () => route });
      }
      return toGrpcStatus(error, state.requestId);
    }
  }

  private overBudget(call: ServerInterceptingCall, holding: Holding, requestId: string | undefined): void {
    this.release(holding);
    this.refusedSinceLog += 1;
    const now = performance.now();
    if (now - this.lastBudgetLog >= BUDGET_LOG_INTERVAL_MS) {
      this.logger.warn(
        `gRPC calls not yet authenticated hold more request bytes than allowed: ${this.refusedSinceLog} call(s) ` +
          'refused with UNAVAILABLE since the last such line (many large requests arriving slowly, or a flood)',
      );
      this.lastBudgetLog = now;
      this.refusedSinceLog = 0;
    }
    const error = new AppError(
      'OVERLOADED',
      'Too many request bytes are arriving from calls not yet authenticated; retry shortly.',
      [],
      { 'Retry-After': '1' },
    );
    call.sendStatus(toGrpcStatus(error, requestId));
  }

  /** Lets a call's bytes go from the budget: for good, or (`untilMore`) only those read so far. */
  private release(holding: Holding, untilMore = false): void {
    if (holding.released) return;
    if (holding.global) this.heldBytes -= holding.bytes;
    const byAddress = (this.heldByAddress.get(holding.address) ?? 0) - holding.bytes;
    if (byAddress > 0) this.heldByAddress.set(holding.address, byAddress);
    else this.heldByAddress.delete(holding.address);
    holding.bytes = 0;
    if (!untilMore) holding.released = true;
  }

  /** The client as the pre-auth limit tells it (behind TRUSTED_PROXIES, the address a proxy forwarded). */
  private clientOf(
    metadata: Metadata,
    call: ServerInterceptingCallInterface,
  ): ReturnType<PreAuthLimiter['clientAddress']> {
    return this.preAuth.clientAddress(remoteAddressOf(call), forwardingMetadata(metadata));
  }
}
