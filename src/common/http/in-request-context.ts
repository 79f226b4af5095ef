import { context } from '@opentelemetry/api';

/**
 * `listener` bound to the current trace context (as it is while tracing is off): for what a request's
 * middleware listens for on the request's or response's own events, which Node emits outside the request's
 * context (observability/server-spans.ts makes the request's server span).
 */
export function inRequestContext<A extends unknown[]>(listener: (...args: A) => void): (...args: A) => void {
  // Not context.bind: its wrapper also copies the listener's length onto itself, a property definition for each
  // of the several listeners a request binds.
  const active = context.active();
  return (...args: A) => context.with(active, listener, undefined, ...args);
}
