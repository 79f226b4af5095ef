import type { Server } from '@grpc/grpc-js';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { refusals } from '../common/http/http-error.filter';
import { acceptedRequestId } from '../common/limits';
import { normaliseAddress } from '../common/net/client-address';
import { grpcHttp2Servers } from './grpc-connections';

const RESOURCE_EXHAUSTED = '8';
/**
 * grpc-js's words when a message is over maxReceiveMessageLength (BODY_LIMIT_BYTES plus the envelope), as sent or
 * once decompressed (a gzip message of a few kilobytes can hold megabytes).
 */
const TOO_LARGE = /^Received message (?:larger than max|that decompresses to a size larger than)/;

/**
 * A message over the size limit is refused by grpc-js itself (RESOURCE_EXHAUSTED), in its own call object, where
 * no server interceptor sees the status: it is found in the HTTP/2 stream's trailers-only response, and audited
 * like HTTP's 413 (`input_validation_fail`, `payload_too_large`, the method as the route). Returns false when this
 * grpc-js version hides its HTTP/2 servers.
 */
export function auditTransportRefusals(server: Server): boolean {
  const http2Servers = grpcHttp2Servers(server);
  for (const http2Server of http2Servers ?? []) {
    http2Server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      const audit = (trailers: OutgoingHttpHeaders): void => {
        const message = trailers['grpc-message'];
        if (String(trailers['grpc-status']) !== RESOURCE_EXHAUSTED || typeof message !== 'string') return;
        if (!TOO_LARGE.test(decodeURIComponent(message))) return;
        const offered = headers['x-request-id'];
        refusals.publish({
          event: 'input_validation_fail',
          reason: 'payload_too_large',
          route: typeof headers[':path'] === 'string' ? headers[':path'] : undefined,
          remoteAddress: normaliseAddress(stream.session?.socket?.remoteAddress),
          requestId: acceptedRequestId(typeof offered === 'string' ? offered : undefined),
        });
      };
      // The refusal comes before any response headers: grpc-js sends it trailers-only, through respond().
      const respond = stream.respond.bind(stream);
      stream.respond = (responseHeaders, options) => {
        if (responseHeaders) audit(responseHeaders);
        respond(responseHeaders, options);
      };
    });
  }
  return http2Servers !== undefined;
}
