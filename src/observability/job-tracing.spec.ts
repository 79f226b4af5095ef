import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { recordJobOutcome, TRACE_CONTEXT_KEY, traceJob, withTraceContext } from './job-tracing';
import { tracer } from './telemetry';

describe('job tracing', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
  });
  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  it('queues the trace context with the job and runs the job as a child of the span that queued it', async () => {
    const queued = tracer.startActiveSpan('turn', (span) => {
      const data = withTraceContext({ deliveryId: 'd1' });
      span.end();
      return { data, span };
    });
    expect(queued.data).toEqual({
      deliveryId: 'd1',
      [TRACE_CONTEXT_KEY]: { traceparent: expect.stringContaining(queued.span.spanContext().traceId) },
    });

    let activeInJob: string | undefined;
    await traceJob('callback-delivery', { id: 'job-1', retryCount: 2, data: queued.data }, () => {
      activeInJob = trace.getActiveSpan()?.spanContext().spanId;
      return Promise.resolve();
    });
    const job = exporter.getFinishedSpans().find((span) => span.name === 'job callback-delivery');
    expect(job?.kind).toBe(SpanKind.CONSUMER);
    expect(job?.spanContext().traceId).toBe(queued.span.spanContext().traceId);
    expect(job?.parentSpanContext?.spanId).toBe(queued.span.spanContext().spanId);
    expect(activeInJob).toBe(job?.spanContext().spanId);
    expect(job?.attributes).toMatchObject({
      'messaging.system': 'pg-boss',
      'messaging.destination.name': 'callback-delivery',
      'messaging.message.id': 'job-1',
      'pgboss.retry_count': 2,
    });
  });

  it('adds nothing outside a trace and starts a new trace for such a job; a failure is marked by type', async () => {
    expect(withTraceContext({ a: 1 })).toEqual({ a: 1 });
    await expect(
      traceJob('retention', { id: 'job-2', retryCount: 0, data: { a: 1 } }, () =>
        Promise.reject(new RangeError('customer 12345 not found')),
      ),
    ).rejects.toThrow(RangeError);
    const [job] = exporter.getFinishedSpans();
    expect(job.parentSpanContext).toBeUndefined();
    expect(job.status).toEqual({ code: SpanStatusCode.ERROR, message: 'RangeError' });
    expect(JSON.stringify(job.attributes)).not.toContain('12345');
  });

  it("puts a fulfillment job's intent, outcome and handler on its span, a failed run as an error", async () => {
    const run = (outcome: string, error?: unknown) =>
      traceJob('fulfillment', { id: `job-${outcome}`, retryCount: 0, data: {} }, () => {
        recordJobOutcome('RequestStatement', outcome, 'StatementHandler', error);
        return Promise.resolve();
      });
    await run('fulfilled');
    await run('failed', new TypeError('archive down'));
    await run('timed-out');
    const [fulfilled, failed, timedOut] = exporter.getFinishedSpans();
    expect(fulfilled.attributes).toMatchObject({
      'fulfillment.intent': 'RequestStatement',
      'fulfillment.outcome': 'fulfilled',
      'fulfillment.handler': 'StatementHandler',
    });
    expect(fulfilled.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(failed.status).toEqual({ code: SpanStatusCode.ERROR, message: 'TypeError' });
    expect(timedOut.attributes['fulfillment.outcome']).toBe('timed-out');
    expect(timedOut.status.code).toBe(SpanStatusCode.ERROR);
  });
});
