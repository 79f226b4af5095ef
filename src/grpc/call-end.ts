import {
  type Metadata,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerInterceptingCall,
} from '@grpc/grpc-js';

/** What is to run when one call ends. */
class CallEnd {
  private ended = false;
  private readonly hooks: (() => void)[] = [];

  add(hook: () => void): void {
    if (this.ended) hook();
    else this.hooks.push(hook);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const hook of this.hooks.splice(0)) hook();
  }
}

/** Each call's end, found from its metadata (the one object the interceptors and the handler share). */
const callEnds = new WeakMap<Metadata, CallEnd>();

/**
 * Notes when each call ends, however it ends: its status sent (an answer, a refusal, grpc-js's own deadline or size
 * limit) or the client gone (a cancellation, a reset stream, a connection cut at shutdown). A handler's call object
 * hears of none of these reliably (grpc-js tells it of a cancellation only), so what must be undone when a call ends
 * (`onCallEnd`) is run from here.
 */
export function watchCallEnds(): ServerInterceptor {
  return (_method, call: ServerInterceptingCallInterface) => {
    const end = new CallEnd();
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            callEnds.set(metadata, end);
            nextMetadata(metadata);
          },
          onCancel: () => end.end(),
        }),
      sendStatus: (status, nextStatus) => {
        end.end();
        nextStatus(status);
      },
    });
  };
}

/**
 * Runs `hook` once, when the call whose metadata this is ends; at once when it has already ended, or when its end
 * cannot be watched (a server without `watchCallEnds`), so that nothing waits for an end it would never hear of.
 */
export function onCallEnd(metadata: Metadata, hook: () => void): void {
  const end = callEnds.get(metadata);
  if (end) end.add(hook);
  else hook();
}
