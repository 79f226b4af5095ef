import { context, ROOT_CONTEXT } from '@opentelemetry/api';

/**
 * `listener` bound to the current trace context (as it is while tracing is off): for what a request's
 * middleware listens for on the request's or response's own events, which Node emits outside the request's
 * context (observability/server-spans.ts makes the request's server span).
 */
export function inRequestContext<A extends unknown[]>(listener: (...args: A) => void): (...args: A) => void {
  const active = context.active();
  // Tracing off (no context manager) or a probe (no server span): nothing to carry, so no wrapper to pay for on
  // each of the request's several listeners.
  if (active === ROOT_CONTEXT) return listener;
  // Not context.bind: its wrapper also copies the listener's length onto itself, a property definition each time.
  return (...args: A) => context.with(active, listener, undefined, ...args);
}
