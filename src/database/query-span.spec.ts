import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { setTracingRunning } from '../observability/telemetry';
import { startQuerySpan, tracedQuery } from './query-span';

describe('query spans', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const target = { database: 'bank', host: '127.0.0.1', port: 5432 };

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    setTracingRunning(true);
  });
  afterAll(async () => {
    setTracingRunning(false);
    await provider.shutdown();
    trace.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  const handler = () => provider.getTracer('test').startSpan('handler');
  const inHandler = <T>(fn: () => T): T => context.with(trace.setSpan(ROOT_CONTEXT, handler()), fn);

  it('makes no span outside a trace, or under a parent the sampler dropped', () => {
    expect(startQuerySpan('SELECT 1', target, ROOT_CONTEXT)).toBeUndefined();
    const dropped = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.NONE,
    });
    expect(startQuerySpan('SELECT 1', target, trace.setSpan(ROOT_CONTEXT, dropped))).toBeUndefined();
  });

  it('names a query by its operation and database, with its text and never its values', async () => {
    const query = { name: 'accounts.balance', text: ' select balance_minor from accounts where id = $1' };
    const settled = jest.fn();
    const rows = await inHandler(() =>
      tracedQuery(target, [{ ...query, values: ['12345'] }], () => Promise.resolve(['row']), settled),
    );
    expect(rows).toEqual(['row']);
    expect(settled).toHaveBeenCalledTimes(1);
    const [finished] = exporter.getFinishedSpans();
    expect(finished.name).toBe('SELECT bank');
    expect(finished.kind).toBe(SpanKind.CLIENT);
    expect(finished.parentSpanContext?.spanId).toBeDefined();
    expect(finished.attributes).toEqual({
      'db.system.name': 'postgresql',
      'db.operation.name': 'SELECT',
      'db.query.text': query.text,
      'db.namespace': 'bank',
      'server.address': '127.0.0.1',
      'server.port': 5432,
    });
    expect(JSON.stringify(finished.attributes)).not.toContain('12345');
  });

  it('marks a failed query by the error type only, and passes the error on', async () => {
    const failure = Object.assign(new Error('value "12345" violates a constraint'), { name: 'DatabaseError' });
    await expect(
      inHandler(() => tracedQuery({}, ['UPDATE accounts SET x = 1'], () => Promise.reject(failure))),
    ).rejects.toBe(failure);
    const [finished] = exporter.getFinishedSpans();
    expect(finished.name).toBe('UPDATE');
    expect(finished.status).toEqual({ code: SpanStatusCode.ERROR, message: 'DatabaseError' });
    expect(finished.attributes['error.type']).toBe('DatabaseError');
    expect(JSON.stringify([finished.attributes, finished.status, finished.events])).not.toContain('12345');
  });

  it("calls a callback in the caller's context, not in the one pg answers from", async () => {
    // pg answers from its socket's events, which carry the context of the request that opened the connection.
    const answer = (args: unknown[]) =>
      context.with(ROOT_CONTEXT, () =>
        setImmediate(() => (args.at(-1) as (error: null, result: string) => void)(null, 'done')),
      );
    const seen = await inHandler(
      () =>
        new Promise<{ caller?: string; inCallback?: string }>((resolve) => {
          const caller = trace.getActiveSpan()?.spanContext().spanId;
          const callback = () => resolve({ caller, inCallback: trace.getActiveSpan()?.spanContext().spanId });
          tracedQuery(target, ['SELECT 1', [], callback], answer);
        }),
    );
    expect(seen.caller).toBeDefined();
    expect(seen.inCallback).toBe(seen.caller);
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual(['SELECT bank']);
  });

  it('while tracing is off, hands pg the callback its answer calls as it is', () => {
    setTracingRunning(false);
    try {
      const callback = jest.fn();
      const settled = jest.fn();
      tracedQuery(
        target,
        ['SELECT 1', [], callback],
        (args) => (args.at(-1) as (e: null, r: string) => void)(null, 'done'),
        settled,
      );
      expect(callback).toHaveBeenCalledWith(null, 'done');
      expect(settled).toHaveBeenCalledTimes(1);
      expect(exporter.getFinishedSpans()).toHaveLength(0);
    } finally {
      setTracingRunning(true);
    }
  });
});
