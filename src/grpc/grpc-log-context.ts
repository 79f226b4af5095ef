import type { Metadata, Server } from '@grpc/grpc-js';
import { inLogContext } from '../observability/logging';
import { type GrpcCallState, requestIdOf } from './grpc-call';

/** Every kind of handler grpc-js calls takes the call first (unary ones a callback after it). */
type CallHandler = (call: GrpcCallState & { metadata?: Metadata }, ...rest: unknown[]) => void;

/**
 * Runs each call's handling (the guards, the handler, the error filter, what they start) in the log context, as the
 * HTTP middleware does for a request: every line logged meanwhile carries the call's `request_id` and, once a guard
 * has authenticated it, its `caller_id`. The id is the one the access log put into the metadata when the call
 * arrived (the guards read the same). Call once the port is bound and before services are added.
 */
export function logCallsInContext(server: Server): void {
  const register = server.register.bind(server);
  server.register = (name, handler, serialize, deserialize, type) => {
    const handle = handler as unknown as CallHandler;
    const inContext: CallHandler = (call, ...rest) => {
      if (call.metadata) call.requestId ??= requestIdOf(call.metadata);
      inLogContext(call, () => handle(call, ...rest));
    };
    return register(name, inContext as unknown as typeof handler, serialize, deserialize, type);
  };
}
