import { type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { pathOf } from './redaction';

/** `service.name` unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise; also the tracer's name. */
export const DEFAULT_SERVICE_NAME = 'webhook-fulfillment';

/** Our own spans (turns, dispatch, handlers, jobs); non-recording until tracing.ts has started the SDK. */
export const tracer = trace.getTracer(DEFAULT_SERVICE_NAME);

/** The intent label and attribute for anything that is not a registered intent (never raw user input). */
export const UNKNOWN_INTENT = 'unknown';

const PROBE_PATHS = new Set(['/health/live', '/health/ready', '/metrics', '/v1/webhooks/rasa/health']);

/** Liveness, readiness and scrape requests: every few seconds, worth neither a trace nor an access log line. */
export function isProbe(url: string | undefined): boolean {
  return PROBE_PATHS.has(pathOf(url));
}

/**
 * Marks a span failed by the error's type only: messages can quote what a user said or a row's values, so
 * they stay in the logs (which have their own redaction) and out of traces.
 */
export function recordFailure(span: Span, error: unknown): void {
  const type = error instanceof Error ? error.name : typeof error;
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}
