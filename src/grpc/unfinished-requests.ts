import {
  type Server,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerInterceptingCall,
  status as GrpcStatus,
} from '@grpc/grpc-js';
import { constants, type ServerHttp2Stream } from 'node:http2';
import { grpcHttp2Servers } from './grpc-connections';

/**
 * Ends with DEADLINE_EXCEEDED a call whose request has not arrived in full (its last message and the end of the
 * stream) within `timeoutMs` of the call's start: HTTP_REQUEST_TIMEOUT_MS, which cuts a slow HTTP request with 408.
 * grpc-js waits for a request for ever, holding what came of it (up to the message size limit, on each of a
 * connection's streams) before any guard runs. For a method that streams its requests (server reflection) the time
 * runs from each message to the next. Put it after the access log among the server's interceptors, so the access line
 * shows the status, and `stopReadingOnceAnswered` on the server, so the stream is let go.
 */
export function cutUnfinishedRequests(timeoutMs: number): ServerInterceptor {
  return (method, call: ServerInterceptingCallInterface) => {
    let timer: NodeJS.Timeout | undefined;
    const stop = (): void => clearTimeout(timer);
    const restart = (): void => {
      stop();
      timer = setTimeout(
        () =>
          intercepted.sendStatus({
            code: GrpcStatus.DEADLINE_EXCEEDED,
            details: `The request did not arrive in full within ${timeoutMs} ms.`,
          }),
        timeoutMs,
      );
    };
    const intercepted: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start: (next) => {
        restart();
        next({
          onReceiveMessage: (message: unknown, nextMessage) => {
            if (method.requestStream) restart();
            nextMessage(message);
          },
          onReceiveHalfClose: (nextHalfClose) => {
            stop();
            nextHalfClose();
          },
          onCancel: stop,
        });
      },
      sendStatus: (status, nextStatus) => {
        stop();
        nextStatus(status);
      },
    });
    return intercepted;
  };
}

/** How often, and how many times, to look whether an answer's end has gone out before the stream is reset. */
const SENT_CHECK_MS = 5;
const SENT_CHECKS = 200;

/**
 * Resets (RST_STREAM NO_ERROR, RFC 9113 §8.1) a call's stream once its answer has gone out in full while the client
 * is still sending its request, as grpc-go does: grpc-js leaves such a stream open, so a call answered early (the
 * request too slow, too large, past its deadline) kept its stream and what had come of its request for as long as
 * the client kept the stream open. The reset waits for the answer's end to be sent (it would overtake the trailers);
 * a client that reads nothing for a second (so it cannot be sent) is cut with CANCEL.
 */
export function stopReadingOnceAnswered(server: Server): boolean {
  const servers = grpcHttp2Servers(server) ?? [];
  for (const http2Server of servers) {
    http2Server.on('stream', (stream: ServerHttp2Stream) =>
      stream.once('finish', () => {
        if (!stream.readableEnded) resetOnceSent(stream, SENT_CHECKS);
      }),
    );
  }
  return servers.length > 0;
}

function resetOnceSent(stream: ServerHttp2Stream, checksLeft: number): void {
  if (stream.closed || stream.destroyed || stream.readableEnded) return;
  if (stream.state.localClose) stream.close(constants.NGHTTP2_NO_ERROR);
  else if (checksLeft === 0) stream.close(constants.NGHTTP2_CANCEL);
  else setTimeout(() => resetOnceSent(stream, checksLeft - 1), SENT_CHECK_MS).unref();
}
