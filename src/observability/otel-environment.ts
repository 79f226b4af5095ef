import type { TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  serviceInstanceIdDetector,
  type ResourceDetector,
} from '@opentelemetry/resources';

/**
 * The standard OTEL_* variables that the OpenTelemetry Node SDK would read for the parts tracing.ts sets up
 * itself (propagators, resource detectors), read the same way. The SDK's own package also loads every metric, log
 * and trace exporter it could be asked for (about a tenth of a second of every start); this reads the variables
 * and loads only what they name.
 */

type Environment = Readonly<Record<string, string | undefined>>;

/** A warning before the logger exists: one JSON line like the rest of the output. */
export function warnBeforeLogging(message: string): void {
  process.stderr.write(
    `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), context: 'Tracing', msg: message })}\n`,
  );
}

/** A comma-separated list, trimmed, without empty entries; undefined when unset or blank (the spec: the same). */
/** A comma-separated list of names, lower-cased: the specification's enum values are case-insensitive. */
function listFrom(value: string | undefined): string[] | undefined {
  const list = value
    ?.split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
  return list?.length ? list : undefined;
}

/* eslint-disable @typescript-eslint/no-require-imports -- propagator packages are loaded only when named */
const PROPAGATORS: Record<string, () => TextMapPropagator> = {
  tracecontext: () => new W3CTraceContextPropagator(),
  baggage: () => new W3CBaggagePropagator(),
  b3: () =>
    new (require('@opentelemetry/propagator-b3') as typeof import('@opentelemetry/propagator-b3')).B3Propagator(),
  b3multi: () => {
    const b3 = require('@opentelemetry/propagator-b3') as typeof import('@opentelemetry/propagator-b3');
    return new b3.B3Propagator({ injectEncoding: b3.B3InjectEncoding.MULTI_HEADER });
  },
  jaeger: () =>
    new (
      require('@opentelemetry/propagator-jaeger') as typeof import('@opentelemetry/propagator-jaeger')
    ).JaegerPropagator(),
};
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * OTEL_PROPAGATORS (tracecontext, baggage, b3, b3multi, jaeger, none): the propagator to register, or null for
 * none (`none`, or no name that is known). Unset: W3C trace context only, where the specification also names
 * baggage: a caller's baggage is its own data, and would otherwise be kept in job rows and handed on to every
 * service a turn calls (token introspection, a carrier, callback receivers). Named, it is propagated.
 */
export function propagatorFromEnv(
  env: Environment,
  warn: (message: string) => void = warnBeforeLogging,
): TextMapPropagator | null {
  const names = [...new Set(listFrom(env.OTEL_PROPAGATORS) ?? ['tracecontext'])];
  if (names.includes('none')) return null;
  const propagators: TextMapPropagator[] = [];
  for (const name of names) {
    const make = Object.hasOwn(PROPAGATORS, name) ? PROPAGATORS[name] : undefined;
    if (make) propagators.push(make());
    else warn(`OTEL_PROPAGATORS "${name}" is not supported (${Object.keys(PROPAGATORS).join(', ')}, none); ignored`);
  }
  if (propagators.length === 0) return null;
  return propagators.length === 1 ? propagators[0] : new CompositePropagator({ propagators });
}

const DETECTORS: Record<string, ResourceDetector> = {
  env: envDetector,
  host: hostDetector,
  os: osDetector,
  process: processDetector,
  serviceinstance: serviceInstanceIdDetector,
};

/**
 * OTEL_NODE_RESOURCE_DETECTORS (env, host, os, process, serviceinstance, all, none). Unset: env, process and
 * host, as the Node SDK does.
 */
export function resourceDetectorsFromEnv(
  env: Environment,
  warn: (message: string) => void = warnBeforeLogging,
): ResourceDetector[] {
  const names = listFrom(env.OTEL_NODE_RESOURCE_DETECTORS);
  if (!names) return [envDetector, processDetector, hostDetector];
  if (names.includes('all')) return Object.values(DETECTORS);
  if (names.includes('none')) return [];
  return names.flatMap((name) => {
    const detector = Object.hasOwn(DETECTORS, name) ? DETECTORS[name] : undefined;
    if (!detector) {
      warn(`OTEL_NODE_RESOURCE_DETECTORS "${name}" is not supported (${Object.keys(DETECTORS).join(', ')}); ignored`);
    }
    return detector ? [detector] : [];
  });
}
