import { context, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { recordFailure, tracer } from './telemetry';

/** Where a job's data carries the W3C trace context (traceparent) of the code that queued it. */
export const TRACE_CONTEXT_KEY = 'traceContext';

/** The job's data with the current trace context added, so the job runs in the trace that queued it. */
export function withTraceContext(data: object): object {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return Object.keys(carrier).length === 0 ? data : { ...data, [TRACE_CONTEXT_KEY]: carrier };
}

export interface TracedJob {
  readonly id: string;
  readonly retryCount: number;
  readonly data: unknown;
}

/** Runs a job in a consumer span whose parent is the span that queued it (or a new trace). */
export function traceJob(queue: string, job: TracedJob, run: () => Promise<void>): Promise<void> {
  const carrier = (job.data as Record<string, unknown> | null | undefined)?.[TRACE_CONTEXT_KEY];
  const parent = propagation.extract(ROOT_CONTEXT, typeof carrier === 'object' && carrier !== null ? carrier : {});
  const attributes = {
    'messaging.system': 'pg-boss',
    'messaging.operation.type': 'process',
    'messaging.destination.name': queue,
    'messaging.message.id': job.id,
    'pgboss.retry_count': job.retryCount,
  };
  return tracer.startActiveSpan(`job ${queue}`, { kind: SpanKind.CONSUMER, attributes }, parent, async (span) => {
    try {
      await run();
    } catch (error: unknown) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * Puts a fulfillment job's intent, outcome and handler on the running job's span; a failed or timed-out run
 * marks it as an error (a turn's span carries the same from the turn pipeline).
 */
export function recordJobOutcome(intent: string, outcome: string, handler?: string, error?: unknown): void {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return;
  span.setAttributes({
    'fulfillment.intent': intent,
    'fulfillment.outcome': outcome,
    ...(handler !== undefined && { 'fulfillment.handler': handler }),
  });
  if (outcome === 'failed' || outcome === 'timed-out') {
    recordFailure(span, error ?? new Error(`the handler ${outcome === 'failed' ? 'failed' : 'timed out'}`));
  }
}
