import { INVALID_SPAN_CONTEXT, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { pathOf } from './redaction';

/** `service.name` unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise; also the tracer's name. */
export const DEFAULT_SERVICE_NAME = 'webhook-fulfillment';

/** Our own spans (turns, dispatch, handlers, jobs); non-recording until tracing.ts has started the SDK. */
export const tracer = trace.getTracer(DEFAULT_SERVICE_NAME);

let running = false;

/** Called by tracing.ts as the SDK starts and stops: spans (ours, the HTTP server's) are made only while it runs. */
export function setTracingRunning(enabled: boolean): void {
  running = enabled;
}

export function tracingRunning(): boolean {
  return running;
}

/** What `work` gets while tracing is off: a span that records nothing and has no trace id to log. */
const UNTRACED = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Runs `work` in a new active span, except while tracing is off (then the API's no-op tracer would only make a
 * non-recording span and switch to a context holding it, for each turn and handler) and inside a local span that
 * is not recorded: under every sampler the environment can name (parent-based, a trace-id ratio, always off), a
 * child of such a span in the same trace is not recorded either. There `work` runs in the current context with a
 * non-recording span for it, sparing each of an unsampled turn's spans its id, its sampling decision and its change
 * of context. A remote parent (a job's stored trace context) is not skipped: `always_on` records children of an
 * unsampled remote parent.
 */
export function inChildSpan<T>(name: string, work: (span: Span) => T): T {
  if (!running) return work(UNTRACED);
  const active = trace.getActiveSpan();
  if (active !== undefined && !active.isRecording()) {
    const parent = active.spanContext();
    if (!parent.isRemote) return work(trace.wrapSpanContext(parent));
  }
  return tracer.startActiveSpan(name, work);
}

/** The intent label and attribute for anything that is not a registered intent (never raw user input). */
export const UNKNOWN_INTENT = 'unknown';

const PROBE_PATHS = new Set(['/health/live', '/health/ready', '/metrics', '/v1/webhooks/rasa/health']);

/** Liveness, readiness and scrape requests: every few seconds, worth neither a trace nor an access log line. */
export function isProbe(url: string | undefined): boolean {
  return PROBE_PATHS.has(pathOf(url));
}

/**
 * Marks a span failed by the error's type only: messages can quote what a user said or a row's values, so
 * they stay out of traces (logs mask the values PostgreSQL repeats: common/errors/loggable-error.ts).
 */
export function recordFailure(span: Span, error: unknown): void {
  markFailed(span, error instanceof Error ? error.name : typeof error);
}

/** Marks a span failed by the name of what went wrong (an error's class, a turn's outcome): `error.type`. */
export function markFailed(span: Span, type: string): void {
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}
