import { context, propagation, ROOT_CONTEXT, type Span, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  type Sampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { inChildSpan, setTracingRunning, tracer } from './telemetry';

describe('inChildSpan', () => {
  const exporter = new InMemorySpanExporter();
  // One provider for the file (the module's tracer keeps the first provider it meets), its sampler set by each test.
  let sampler: Sampler = new AlwaysOnSampler();
  const provider = new BasicTracerProvider({
    sampler: { shouldSample: (...args) => sampler.shouldSample(...args), toString: () => 'per test' },
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });

  /** The SDK with `next` as its sampler, as tracing.ts starts it from OTEL_TRACES_SAMPLER. */
  function startWith(next: Sampler): void {
    sampler = next;
  }

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    setTracingRunning(true);
  });
  afterEach(() => exporter.reset());
  afterAll(async () => {
    setTracingRunning(false);
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  it('runs the work in a recorded child span, active inside it, under a recorded parent', async () => {
    startWith(new ParentBasedSampler({ root: new AlwaysOnSampler() }));
    const parent = tracer.startSpan('server');
    const active = await context.with(trace.setSpan(ROOT_CONTEXT, parent), () =>
      inChildSpan('turn', async (span) => {
        await Promise.resolve();
        const inside = trace.getActiveSpan()?.spanContext().spanId;
        span.end();
        return inside;
      }),
    );
    parent.end();
    const [turn] = exporter.getFinishedSpans();
    expect(turn.name).toBe('turn');
    expect(turn.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(active).toBe(turn.spanContext().spanId);
  });

  it.each([
    ['a parent-based ratio', new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0) })],
    ['a trace-id ratio', new TraceIdRatioBasedSampler(0)],
    ['always off', new AlwaysOffSampler()],
  ])('under %s, starts no span inside an unsampled local span: the work runs in its context', (_name, sampler) => {
    startWith(sampler);
    const parent = tracer.startSpan('server');
    expect(parent.isRecording()).toBe(false);
    const seen = context.with(trace.setSpan(ROOT_CONTEXT, parent), () =>
      inChildSpan('turn', (span: Span) => ({
        given: span.spanContext(),
        recording: span.isRecording(),
        active: trace.getActiveSpan(),
      })),
    );
    // Without the shortcut the work would get a span of its own: a new span id, and that span active.
    expect(seen.given).toEqual(parent.spanContext());
    expect(seen.recording).toBe(false);
    expect(seen.active).toBe(parent);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('while tracing is off, runs the work with a span that records nothing, in the current context', () => {
    startWith(new AlwaysOnSampler());
    setTracingRunning(false);
    try {
      const seen = inChildSpan('turn', (span: Span) => {
        span.setAttribute('ignored', true);
        span.end();
        return { context: span.spanContext(), recording: span.isRecording(), active: trace.getActiveSpan() };
      });
      expect(seen.recording).toBe(false);
      expect(seen.context.traceFlags & TraceFlags.SAMPLED).toBe(0);
      // Under a running SDK with this sampler the work would be in a recorded span, active inside it.
      expect(seen.active).toBeUndefined();
      expect(exporter.getFinishedSpans()).toHaveLength(0);
    } finally {
      setTracingRunning(true);
    }
  });

  it("records the child of an unsampled remote parent when the sampler records it (always_on, a job's stored context)", () => {
    startWith(new AlwaysOnSampler());
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const remote = propagation.extract(ROOT_CONTEXT, { traceparent: `00-${traceId}-00f067aa0ba902b7-00` });
    const child = context.with(remote, () =>
      inChildSpan('job', (span) => {
        span.end();
        return span.spanContext();
      }),
    );
    expect(child.traceId).toBe(traceId);
    expect(child.traceFlags & TraceFlags.SAMPLED).toBe(TraceFlags.SAMPLED);
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual(['job']);
  });
});
