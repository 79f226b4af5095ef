/**
 * OpenTelemetry tracing, configured only by the standard OTEL_* variables. Importing this module starts it:
 * main.ts imports it before anything else, so that http, grpc-js and undici are patched
 * before they are loaded. Nothing else in src/ imports it (a test starts it itself, with its own exporter).
 *
 * It is the one module besides the configuration that reads process.env: it runs before the configuration
 * is loaded, and the SDK reads the same variables itself.
 */
import { context, diag, DiagConsoleLogger, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { diagLogLevelFromString } from '@opentelemetry/core';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { defaultResource, detectResources, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { propagatorFromEnv, resourceDetectorsFromEnv } from './otel-environment';
import { FanOutSpanProcessor, RedactingSpanProcessor } from './span-processors';
import { DEFAULT_SERVICE_NAME, setTracingRunning } from './telemetry';
import { exportProcessors } from './trace-exporters';

export interface Tracing {
  /** The instrumentations in place (a test under Jest applies their patches itself). */
  readonly instrumentations: readonly Instrumentation[];
  addSpanProcessor(processor: SpanProcessor): void;
  forceFlush(): Promise<void>;
  /** Exports what is buffered, then stops tracing and un-patches the instrumented modules. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** Added to the exporters the environment configures, e.g. an in-memory exporter in a test. */
  readonly spanProcessors?: readonly SpanProcessor[];
}

type Environment = Readonly<Record<string, string | undefined>>;

let running: Tracing | undefined;

/**
 * Starts the SDK once (OTEL_SDK_DISABLED=true: never, and returns undefined); a later call only adds its
 * span processors to the running SDK.
 */
export function startTracing(options: TracingOptions = {}, env: Environment = process.env): Tracing | undefined {
  if (!running) {
    if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
    running = start(env);
  }
  for (const processor of options.spanProcessors ?? []) running.addSpanProcessor(processor);
  return running;
}

/**
 * What the Node SDK's start does for traces, from the pieces it is made of: the SDK's own package loads every
 * metric, log and trace exporter it could be asked for, about a tenth of a second of every start.
 */
function start(env: Environment): Tracing {
  const logLevel = env.OTEL_LOG_LEVEL?.trim();
  if (logLevel) diag.setLogger(new DiagConsoleLogger(), { logLevel: diagLogLevelFromString(logLevel) });
  const instrumentations = createInstrumentations();
  const unregisterInstrumentations = registerInstrumentations({ instrumentations });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const propagator = propagatorFromEnv(env);
  if (propagator) propagation.setGlobalPropagator(propagator);
  const exporters = new FanOutSpanProcessor();
  const provider = new BasicTracerProvider({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (read by the environment detector) override the name.
    resource: defaultResource()
      .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: DEFAULT_SERVICE_NAME }))
      .merge(detectResources({ detectors: resourceDetectorsFromEnv(env) })),
    // The sampler (OTEL_TRACES_SAMPLER, _ARG) and the span limits (OTEL_SPAN_*) are read by the provider itself.
    // Redaction first: it runs before any exporter sees a span.
    spanProcessors: [new RedactingSpanProcessor(), exporters],
  });
  trace.setGlobalTracerProvider(provider);
  setTracingRunning(true);
  // Created after the instrumentations are in place: the gRPC exporter loads @grpc/grpc-js.
  for (const processor of exportProcessors(env)) exporters.add(processor);

  let stopped: Promise<void> | undefined;
  return {
    instrumentations,
    addSpanProcessor: (processor) => exporters.add(processor),
    forceFlush: () => exporters.forceFlush(),
    shutdown: () => {
      stopped ??= provider.shutdown().finally(() => {
        unregisterInstrumentations();
        // Back to the API's no-op state, so that tracing can be started again in the same process.
        setTracingRunning(false);
        trace.disable();
        // Disables the context manager too.
        context.disable();
        propagation.disable();
        running = undefined;
      });
      return stopped;
    },
  };
}

/** grpc.health.v1.Health's `Check` and `Watch`, server reflection's (v1 and v1alpha) `ServerReflectionInfo`. */
export const UNTRACED_GRPC_METHODS: readonly string[] = ['Check', 'Watch', 'ServerReflectionInfo'];

function createInstrumentations(): Instrumentation[] {
  return [
    // Outgoing calls through node:http only (JWKS fetches), inside a trace. Incoming requests get their server
    // span from server-spans.ts: the instrumentation's own cost ~70 µs a request, sampled or not, and a span
    // per express layer or Nest controller told nothing the turn's span does not.
    new HttpInstrumentation({ disableIncomingRequestInstrumentation: true, requireParentforOutgoingSpans: true }),
    // No pg instrumentation: the pools' client class makes each query's span itself, only inside a recorded
    // trace (database/query-span.ts); the instrumentation's wrappers cost ~35 µs a turn, recorded or not.
    // Health checks and reflection get no trace, as HTTP probes get none: a Kubernetes gRPC probe every few seconds
    // was a root trace each. The instrumentation matches a served call by its method's name alone (`Check`, not
    // `/grpc.health.v1.Health/Check`); no other service here has a method of these names.
    new GrpcInstrumentation({ ignoreGrpcMethods: [...UNTRACED_GRPC_METHODS] }),
    new UndiciInstrumentation({ requireParentforSpans: true }),
  ];
}

startTracing();
