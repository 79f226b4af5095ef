import { context, type Context, type Span, SpanKind, trace } from '@opentelemetry/api';
import { SessionSettingsClient } from './session-settings';
import { recordFailure, tracer, tracingRunning } from '../observability/telemetry';

/** Where a client is connected (pg's Client fields). */
export interface QueryTarget {
  readonly database?: string;
  readonly host?: string;
  readonly port?: number;
}

/** The SQL text of pg's query arguments: a string, or a config object (`{ name, text, values }`). */
function textOf(first: unknown): string | undefined {
  if (typeof first === 'string') return first;
  const text = (first as { text?: unknown } | null | undefined)?.text;
  return typeof text === 'string' ? text : undefined;
}

/**
 * A client span for one query, only inside a recorded trace (a query outside any trace, such as pg-boss's polling,
 * or under a parent the sampler dropped, costs nothing here). Made by the pool's client class rather than by
 * @opentelemetry/instrumentation-pg, whose wrappers ran for every query, recorded or not. The text is kept
 * with its placeholders; RedactingSpanProcessor removes any literal, and parameter values are never recorded.
 */
export function startQuerySpan(first: unknown, target: QueryTarget, parent: Context): Span | undefined {
  if (!trace.getSpan(parent)?.isRecording()) return undefined;
  const text = textOf(first);
  const operation = text?.trimStart().split(/\s/, 1)[0]?.toUpperCase() || 'QUERY';
  return tracer.startSpan(
    target.database ? `${operation} ${target.database}` : operation,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'db.system.name': 'postgresql',
        'db.operation.name': operation,
        ...(text !== undefined && { 'db.query.text': text }),
        ...(target.database !== undefined && { 'db.namespace': target.database }),
        ...(target.host !== undefined && { 'server.address': target.host }),
        ...(target.port !== undefined && { 'server.port': target.port }),
      },
    },
    parent,
  );
}

type QueryCallback = (error: Error | null, result: unknown) => void;
const nothing = (): void => undefined;

/**
 * Runs one of pg's `query` overloads (promise, callback, submittable) as it is, with its span, and calls `settled`
 * once it is answered. A callback continues in the caller's context: pg calls it from its socket's events, which
 * carry the context of whichever request opened the connection.
 */
export function tracedQuery(
  target: QueryTarget,
  args: unknown[],
  run: (args: unknown[]) => unknown,
  settled: () => void = nothing,
): unknown {
  const caller = context.active();
  const span = startQuerySpan(args[0], target, caller);
  let done = false;
  const answered = (error: unknown): void => {
    if (done) return;
    done = true;
    settled();
    if (!span) return;
    if (error) recordFailure(span, error);
    span.end();
  };
  const last = args.length - 1;
  const callback = args[last];
  if (typeof callback === 'function') {
    args[last] = (error: Error | null, result: unknown): void => {
      answered(error);
      // Without tracing there is no context to restore (and the API's no-op switch costs a closure and a spread).
      if (tracingRunning()) context.with(caller, () => (callback as QueryCallback)(error, result));
      else (callback as QueryCallback)(error, result);
    };
    return runAnswering(run, args, answered);
  }
  const result = runAnswering(run, args, answered);
  if (result instanceof Promise) {
    return result.then(
      (value: unknown) => {
        answered(undefined);
        return value;
      },
      (error: unknown) => {
        answered(error);
        throw error;
      },
    );
  }
  // A submittable (cursor, stream) reports through its own events: answered as far as we can tell.
  answered(undefined);
  return result;
}

/**
 * pg throws at once for a query it will not send (none given, a bad callback): that is its answer, or the no-answer
 * watch would later drop a healthy connection.
 */
function runAnswering(run: (args: unknown[]) => unknown, args: unknown[], answered: (error: unknown) => void): unknown {
  try {
    return run(args);
  } catch (error: unknown) {
    answered(error);
    throw error;
  }
}

/** pg's Client with a span per query (the read replicas' pools; the primary's clients are guarded-client.ts's). */
export class TracedClient extends SessionSettingsClient {
  override query(...args: unknown[]): never {
    return tracedQuery(this, args, (values) => (super.query as (...v: unknown[]) => unknown)(...values)) as never;
  }
}
