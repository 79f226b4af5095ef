import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { traceServerRequests } from './server-spans';
import { setTracingRunning } from './telemetry';

const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';

describe('traceServerRequests', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let server: Server;
  let port: number;
  let activeInHandler: string | undefined;

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    setTracingRunning(true);
    server = createServer((request: IncomingMessage & { route?: { path: string } }, response) => {
      activeInHandler = trace.getActiveSpan()?.spanContext().spanId;
      if (request.url?.startsWith('/slow')) return; // never answers: the client gives up
      request.route = { path: '/v1/items/:id' };
      response.writeHead(request.url?.includes('fail') ? 503 : 200).end('{}');
    });
    traceServerRequests(server, 'http');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    setTracingRunning(false);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  function call(path: string, headers: Record<string, string> = {}, abortAfterMs?: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const client = httpRequest({ port, host: '127.0.0.1', path, method: 'POST', headers }, (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
      });
      client.once('error', (error) => (abortAfterMs === undefined ? reject(error) : resolve(0)));
      if (abortAfterMs !== undefined) setTimeout(() => client.destroy(), abortAfterMs);
      client.end();
    });
  }

  const spans = async (count: number) => {
    for (let attempt = 0; attempt < 50 && exporter.getFinishedSpans().length < count; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return exporter.getFinishedSpans();
  };

  it("makes a server span under the caller's traceparent, named by the route, with the handler inside it", async () => {
    await call('/v1/items/7?token=secret', {
      traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`,
      'user-agent': 'bot/1.0',
    });
    const [span] = await spans(1);
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.name).toBe('POST /v1/items/:id');
    expect(span.spanContext().traceId).toBe(CALLER_TRACE);
    expect(span.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(activeInHandler).toBe(span.spanContext().spanId);
    expect(span.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/items/:id',
      'http.response.status_code': 200,
      'url.path': '/v1/items/7',
      'url.query': 'token=REDACTED', // names only: a query value can be a credential
      'server.address': '127.0.0.1',
      'server.port': port,
      'user_agent.original': 'bot/1.0',
    });
    expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('marks a 5xx as an error and a request the client abandoned as aborted; probes get no span', async () => {
    expect(await call('/v1/items/fail')).toBe(503);
    await call('/slow', {}, 100);
    await call('/health/ready');
    await new Promise((resolve) => setTimeout(resolve, 50)); // a probe's span, if one were made, has ended
    const finished = await spans(2);
    expect(
      finished.map((span) => [span.attributes['url.path'], span.status.code, span.attributes['error.type']]),
    ).toEqual([
      ['/v1/items/fail', SpanStatusCode.ERROR, undefined],
      ['/slow', SpanStatusCode.UNSET, 'aborted'],
    ]);
  });

  it('tells a request the server cut from one the client abandoned: timeout (with the 408 sent), shutdown', async () => {
    // Node's checks of slow requests every 50 ms, instead of every 30 s.
    const slow = createServer(
      { requestTimeout: 1000, headersTimeout: 1000, connectionsCheckingInterval: 50 },
      (request) => request.resume(),
    );
    traceServerRequests(slow, 'http');
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const slowPort = (slow.address() as AddressInfo).port;
    /** Headers and the start of a 50-byte body, then nothing more; resolves once its span has started. */
    const upload = async (path: string): Promise<Socket> => {
      const socket = connect(slowPort, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.resume();
      socket.write(`POST ${path} HTTP/1.1\r\nHost: a\r\nContent-Length: 50\r\n\r\n{"a":`);
      await new Promise((resolve) => slow.once('request', resolve));
      return socket;
    };
    try {
      const timedOut = await upload('/timed-out');
      await new Promise((resolve) => timedOut.once('close', resolve));
      await upload('/cut');
      // What the shutdown does: stop listening, and at the end of the grace cut the connections still open.
      const closing = new Promise((resolve) => slow.close(resolve));
      slow.closeAllConnections();
      await closing;
    } finally {
      slow.closeAllConnections();
    }
    const finished = await spans(2);
    expect(
      finished.map((span) => [
        span.attributes['url.path'],
        span.attributes['error.type'],
        span.attributes['http.response.status_code'],
        span.status.code,
      ]),
    ).toEqual([
      ['/timed-out', 'timeout', 408, SpanStatusCode.UNSET],
      ['/cut', 'shutdown', undefined, SpanStatusCode.ERROR],
    ]);
  });

  it('leaves a server alone while tracing is off', () => {
    setTracingRunning(false);
    const untouched = createServer(() => undefined);
    const [listener] = untouched.listeners('request');
    traceServerRequests(untouched, 'http');
    expect(untouched.listeners('request')).toEqual([listener]);
    setTracingRunning(true);
  });
});
