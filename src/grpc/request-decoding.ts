import {
  ServerInterceptingCall,
  status as GrpcStatus,
  type Server,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import { AppError } from '../common/errors/app-error';
import { duplicateStructKey, type MessageShape } from './struct-wire';

/** One method's request, as its refusals name it, and its fields (to find repeated keys and ambiguous encodings). */
export interface RequestDecoding {
  readonly type: string;
  readonly shape?: MessageShape;
}

const DUPLICATE_KEY = Symbol('duplicate Struct key');
const UNDECODABLE = Symbol('undecodable request');

/**
 * Makes the server note, on each request of the methods given (by path), what decoding hides, for the handler
 * to refuse like the HTTP endpoints refuse a body:
 * - bytes that do not decode at all (truncated, a wire type protobuf lacks, nested deeper than protobufjs reads):
 *   grpc-js would answer INTERNAL before any guard ran, unauthenticated, unaudited, its access line saying the
 *   client had gone. The call goes on as an empty request marked undecodable (`refuseUndecodable`), so it is
 *   authenticated first and then refused like a JSON body that is not JSON;
 * - a Struct key the bytes repeat: decoding keeps only the last, so the request is refused like a JSON body with a
 *   repeated key (`duplicateKeyOf`);
 * - bytes another decoder (a proxy, a logger) would read otherwise: a field sent with another wire type than its own,
 *   a singular message sent twice, text that is not UTF-8 (see duplicateStructKey). They are refused as undecodable.
 * Call before services are added.
 */
export function guardRequestDecoding(server: Server, methods: Readonly<Record<string, RequestDecoding>>): void {
  const register = server.register.bind(server);
  server.register = (name, handler, serialize, deserialize, type) =>
    register(
      name,
      handler,
      serialize,
      Object.hasOwn(methods, name) ? guarded(deserialize, methods[name]) : deserialize,
      type,
    );
}

function guarded<T>(deserialize: (bytes: Buffer) => T, decoding: RequestDecoding): (bytes: Buffer) => T {
  return (bytes) => {
    let message: T;
    let repeated: string | undefined;
    try {
      message = deserialize(bytes);
      // Bytes other decoders would read otherwise (see duplicateStructKey) are refused like undecodable ones.
      if (decoding.shape !== undefined) repeated = duplicateStructKey(bytes, decoding.shape);
    } catch (error: unknown) {
      const undecodable = {};
      const reason = `The request is not a ${decoding.type} that can be decoded: ${decodeErrorText(error)}.`;
      Object.defineProperty(undecodable, UNDECODABLE, { value: reason, enumerable: false });
      return undecodable as T;
    }
    if (repeated !== undefined && typeof message === 'object' && message !== null) {
      Object.defineProperty(message, DUPLICATE_KEY, { value: repeated, enumerable: false });
    }
    return message;
  };
}

/** protobufjs's reason, which names no internals ("maximum nesting depth exceeded", "index out of range: …"). */
function decodeErrorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return /^[\w :+,.>=<-]{1,120}$/.test(text) ? text : 'the bytes are not a protobuf message of this type';
}

function undecodableReason(request: unknown): string | undefined {
  return typeof request === 'object' && request !== null
    ? (request as { [UNDECODABLE]?: string })[UNDECODABLE]
    : undefined;
}

/** Whether the request's bytes did not decode (it is then empty). */
export function isUndecodable(request: unknown): boolean {
  return undecodableReason(request) !== undefined;
}

/**
 * Ends with INVALID_ARGUMENT and the reason, before the handler sees it, a call on one of the paths given whose
 * message did not decode: for methods whose handler is not ours (server reflection's stream), which would read the
 * empty message as a request (where grpc-js alone would answer INTERNAL). Put it after the access log among the
 * server's interceptors, so the access line shows the status.
 */
export function refuseUndecodableMessages(paths: ReadonlySet<string>): ServerInterceptor {
  return (method, call: ServerInterceptingCallInterface) => {
    if (!paths.has(method.path)) return new ServerInterceptingCall(call);
    const intercepted: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMessage: (message: unknown, nextMessage) => {
            const reason = undecodableReason(message);
            if (reason === undefined) nextMessage(message);
            else intercepted.sendStatus({ code: GrpcStatus.INVALID_ARGUMENT, details: reason });
          },
        }),
    });
    return intercepted;
  };
}

/** Refuses (MALFORMED_JSON: INVALID_ARGUMENT) a request whose bytes did not decode. */
export function refuseUndecodable(request: unknown): void {
  const reason = undecodableReason(request);
  if (reason !== undefined) throw new AppError('MALFORMED_JSON', reason);
}

/** The repeated Struct key the wire held, or undefined. */
export function duplicateKeyOf(request: object): string | undefined {
  return (request as { [DUPLICATE_KEY]?: string })[DUPLICATE_KEY];
}
