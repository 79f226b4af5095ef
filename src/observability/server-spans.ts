import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  type Attributes,
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  type Span,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { timeoutStatus, unansweredBecause } from './access-log';
import { redactQuery } from './redaction';
import { isProbe, tracer, tracingRunning } from './telemetry';

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * The HTTP server span of every request but the probes, made here rather than by the HTTP instrumentation,
 * which also bound every request's and response's event emitters to the context and read a dozen attributes
 * for each request, sampled or not: about 70 µs a request. The caller's `traceparent` is the parent; the rest
 * of the request (Nest, the turn, its queries) runs in the span's context, and what continues on the request's
 * own events (the body's end, the response's close) is bound to it where it is listened for
 * (common/http/in-request-context.ts). Named `<METHOD> <route>` once the route is known.
 */
export function traceServerRequests(server: Server, scheme: 'http' | 'https'): void {
  if (!tracingRunning()) return;
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  const handle: RequestListener = (request, response) => {
    for (const listener of listeners) listener.call(server, request, response);
  };
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (isProbe(request.url)) {
      handle(request, response);
      return;
    }
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const method = request.method ?? 'GET';
    const span = tracer.startSpan(method, { kind: SpanKind.SERVER }, parent);
    // Set once sampled, not handed to the sampler: none of the samplers OTEL_TRACES_SAMPLER can name reads them,
    // and an unsampled request (nine in ten under a 10 % ratio) is spared building and checking a dozen of them.
    if (span.isRecording()) span.setAttributes(requestAttributes(request, scheme));
    const end = (): void => {
      if (span.isRecording()) {
        const route = (request as IncomingMessage & { route?: { path?: unknown } }).route?.path;
        if (typeof route === 'string') {
          span.setAttribute('http.route', route);
          span.updateName(`${method} ${route}`);
        }
        // The address the service settled on (behind TRUSTED_PROXIES, the forwarded client's), as audits use it.
        const client = (request as IncomingMessage & { clientAddress?: string }).clientAddress;
        if (client !== undefined) span.setAttribute('client.address', client);
        if (response.headersSent) {
          span.setAttribute('http.response.status_code', response.statusCode);
          if (response.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        }
        endUnanswered(span, request, response);
      }
      span.end();
    };
    response.once('close', end);
    context.with(trace.setSpan(parent, span), handle, undefined, request, response);
  });
}

/**
 * Closed before the response ended: `aborted` when the client went away, `timeout` when HTTP_REQUEST_TIMEOUT_MS ran
 * out first (with the 408 Node sent, when it could), `shutdown` when the end of the shutdown's grace cut it (an
 * error: the server gave up on a request it had taken).
 */
function endUnanswered(span: Span, request: IncomingMessage, response: ServerResponse): void {
  const unanswered = unansweredBecause(request, response);
  if (unanswered === undefined) return;
  span.setAttribute('error.type', unanswered === 'client' ? 'aborted' : unanswered);
  if (unanswered === 'shutdown') span.setStatus({ code: SpanStatusCode.ERROR, message: 'cut at shutdown' });
  const status = unanswered === 'timeout' ? timeoutStatus(response) : undefined;
  if (status !== undefined) span.setAttribute('http.response.status_code', status);
}

function requestAttributes(request: IncomingMessage, scheme: string): Attributes {
  const url = request.url ?? '/';
  const question = url.indexOf('?');
  const host = request.headers.host ?? '';
  const colon = host.lastIndexOf(':');
  // `host:port`, but not the colons inside a bracketed IPv6 address without a port.
  const port = colon > 0 && !host.endsWith(']') ? Number(host.slice(colon + 1)) : undefined;
  return {
    'http.request.method': request.method ?? 'GET',
    'url.scheme': scheme,
    'url.path': question === -1 ? url : url.slice(0, question),
    // Without values from the start (a query can carry a credential, e.g. Rasa's `?token=`): every span
    // processor sees the span before the redacting processor would.
    ...(question !== -1 && { 'url.query': redactQuery(url.slice(question + 1)) }),
    'server.address': port === undefined ? host : host.slice(0, colon),
    ...(port !== undefined && { 'server.port': port }),
    'network.protocol.version': request.httpVersion,
    'network.peer.address': request.socket.remoteAddress ?? '',
    'network.peer.port': request.socket.remotePort ?? 0,
    ...(request.headers['user-agent'] !== undefined && { 'user_agent.original': request.headers['user-agent'] }),
  };
}
