import {
  Metadata,
  type Server,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerInterceptingCall,
  status as GrpcStatus,
} from '@grpc/grpc-js';
import type { Level, Logger } from 'pino';
import { sampleProbe, writeAccessLine } from '../observability/access-log';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { acceptedRequestId } from '../common/limits';
import { normaliseAddress } from '../common/net/client-address';
import { type GrpcCallState, remoteAddressOf, requestIdOf } from './grpc-call';
import { grpcHttp2Servers } from './grpc-connections';

/** Health checks: answered every few seconds, worth an access line only when sampled. */
const PROBE_METHODS: ReadonlySet<string> = new Set(['/grpc.health.v1.Health/Check', '/grpc.health.v1.Health/Watch']);

/** What the client did wrong or was refused (HTTP's 4xx), logged at warn; the rest of the failures at error. */
const CLIENT_SIDE: ReadonlySet<GrpcStatus> = new Set([
  GrpcStatus.CANCELLED,
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.NOT_FOUND,
  GrpcStatus.ALREADY_EXISTS,
  GrpcStatus.PERMISSION_DENIED,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.FAILED_PRECONDITION,
  GrpcStatus.ABORTED,
  GrpcStatus.OUT_OF_RANGE,
  GrpcStatus.UNAUTHENTICATED,
]);

/** The guards' state of a call, found from its metadata (the one object the interceptor and the handler share). */
const callStates = new WeakMap<Metadata, GrpcCallState>();

/** Lets the access line read what the guards learn about the call (caller, client address). */
export function shareCallState(metadata: Metadata, state: GrpcCallState): void {
  callStates.set(metadata, state);
}

/** Each message's size on the wire (uncompressed), by the message grpc-js deserialised or serialised. */
const messageSizes = new WeakMap<object, number>();

function sizeOf(message: unknown): number {
  return (typeof message === 'object' && message !== null && messageSizes.get(message)) || 0;
}

/**
 * What the access log needs from the server itself, beyond its interceptor: each method registered from now on
 * notes the size of every message it deserialises and serialises (an interceptor sees only the objects, and
 * serialising a response twice to measure it would cost more than the rest of the line), and a call
 * to a method nobody registered - which grpc-js answers UNIMPLEMENTED before any interceptor runs - gets its
 * line from the HTTP/2 stream. Call once the port is bound and before services are added. Returns false when
 * this grpc-js version hides its HTTP/2 servers (then such calls go unlogged).
 */
export function watchGrpcServer(server: Server, logger: Logger): boolean {
  const methods = new Set<string>();
  const register = server.register.bind(server);
  server.register = (name, handler, serialize, deserialize, type) => {
    methods.add(name);
    return register(
      name,
      handler,
      (message) => {
        const bytes = serialize(message);
        if (typeof message === 'object' && message !== null) messageSizes.set(message, bytes.length);
        return bytes;
      },
      (bytes: Buffer) => {
        const message: unknown = deserialize(bytes);
        if (typeof message === 'object' && message !== null) messageSizes.set(message, bytes.length);
        return message as never;
      },
      type,
    );
  };
  const http2Servers = grpcHttp2Servers(server);
  for (const http2Server of http2Servers ?? []) {
    http2Server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      const path = headers[':path'];
      if (typeof path !== 'string' || methods.has(path)) return;
      const started = performance.now();
      const offered = headers['x-request-id'];
      const requestId = acceptedRequestId(typeof offered === 'string' ? offered : undefined);
      const peer = normaliseAddress(stream.session?.socket?.remoteAddress);
      stream.once('close', () =>
        writeAccessLine(logger, {
          requestId,
          method: 'GRPC',
          path,
          status: GrpcStatus.UNIMPLEMENTED,
          grpcStatus: GrpcStatus[GrpcStatus.UNIMPLEMENTED],
          level: 'warn',
          durationMs: performance.now() - started,
          clientAddress: peer,
        }),
      );
    });
  }
  return http2Servers !== undefined;
}

function levelOf(code: GrpcStatus): Level {
  return code === GrpcStatus.OK ? 'info' : CLIENT_SIDE.has(code) ? 'warn' : 'error';
}

export interface GrpcAccessLogOptions {
  /** Percent of health checks that get a line; 0 is none. */
  readonly probePercent: number;
  /** Whether the shutdown is cutting the calls still open (its grace is over): they were not abandoned by clients. */
  readonly cuttingAtShutdown?: () => boolean;
}

/**
 * The status grpc-js sent on the call's HTTP/2 stream by itself, past the interceptors (a deadline, a message over
 * the size limit, a `grpc-timeout` it cannot read), or undefined when none went out (the client went away). Read
 * from the headers or trailers Node records as sent, on the stream grpc-js's innermost call keeps.
 */
function statusSentBeneath(call: ServerInterceptingCallInterface): GrpcStatus | undefined {
  const stream = (call as { stream?: Partial<Pick<ServerHttp2Stream, 'sentHeaders' | 'sentTrailers'>> }).stream;
  const sent = stream?.sentTrailers?.['grpc-status'] ?? stream?.sentHeaders?.['grpc-status'];
  const code = Number(sent);
  return sent !== undefined && Number.isInteger(code) && GrpcStatus[code] !== undefined ? code : undefined;
}

/**
 * One access line per gRPC call when its status is sent (or the client cancels), whatever answered it: a
 * guard's refusal, a handler, reflection, health. The request id is decided here, when the call arrives (the
 * client's `x-request-id` when safe, else a new one), and put into the call's metadata so the guards and the
 * handler use the same one. Bytes are the messages' sizes as `watchGrpcServer` noted them.
 */
export function grpcAccessLog(logger: Logger, options: GrpcAccessLogOptions): ServerInterceptor {
  return (method, call: ServerInterceptingCallInterface) => {
    if (PROBE_METHODS.has(method.path) && !sampleProbe(options.probePercent)) return new ServerInterceptingCall(call);
    const started = performance.now();
    let metadata: Metadata | undefined;
    let requestId: string | undefined;
    let bytesIn = 0;
    /** Sent, but perhaps not serialised yet when the status goes out: measured when the line is written. */
    const sent: unknown[] = [];
    let logged = false;
    const log = (code: GrpcStatus | undefined): void => {
      if (logged) return;
      logged = true;
      const state = metadata ? callStates.get(metadata) : undefined;
      // Cut: the connection reset beneath the call, or the UNAVAILABLE the shutdown sent it just before.
      const cut = (code === undefined || code === GrpcStatus.UNAVAILABLE) && options.cuttingAtShutdown?.() === true;
      writeAccessLine(logger, {
        requestId,
        method: 'GRPC',
        path: method.path,
        status: code,
        grpcStatus: code === undefined ? undefined : GrpcStatus[code],
        level: cut ? 'error' : code === undefined ? 'warn' : levelOf(code),
        durationMs: performance.now() - started,
        bytesIn,
        bytesOut: sent.reduce<number>((total, message) => total + sizeOf(message), 0),
        callerId: state?.caller?.id,
        clientAddress: state?.clientAddress ?? remoteAddressOf(call),
        aborted: code === undefined && !cut ? true : undefined,
        cut: cut ? 'shutdown' : undefined,
      });
    };
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (received, nextMetadata) => {
            metadata = received;
            requestId = requestIdOf(received);
            received.set('x-request-id', requestId);
            nextMetadata(received);
          },
          onReceiveMessage: (message: unknown, nextMessage) => {
            bytesIn += sizeOf(message);
            nextMessage(message);
          },
          onCancel: () => log(statusSentBeneath(call)),
        }),
      sendMessage: (message: unknown, nextMessage) => {
        sent.push(message);
        nextMessage(message);
      },
      sendStatus: (status, nextStatus) => {
        log(status.code);
        nextStatus(status);
      },
    });
  };
}
