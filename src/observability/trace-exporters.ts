import { createNoopMeter, type Meter, type MeterProvider } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import {
  BatchSpanProcessor,
  type BufferConfig,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { warnBeforeLogging as warnLine } from './otel-environment';
import { countDroppedSpans, countTraceExportFailure } from './trace-export-health';

type Environment = Readonly<Record<string, string | undefined>>;

export type TraceExporterName = 'otlp' | 'console';
export type OtlpProtocol = 'grpc' | 'http/protobuf' | 'http/json';

const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ['grpc', 'http/protobuf', 'http/json'];

/**
 * OTEL_TRACES_EXPORTER (otlp, console, none; comma-separated). Unset, it is `otlp` when an OTLP endpoint is
 * configured and `none` otherwise, so development and tests never retry a collector that is not there.
 * With `none`, spans are still created (trace ids in logs, W3C context passed on) and dropped.
 */
export function traceExporterNames(env: Environment, warn: (message: string) => void = warnLine): TraceExporterName[] {
  const configured = env.OTEL_TRACES_EXPORTER?.trim();
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!configured) return endpoint ? ['otlp'] : [];
  const names = new Set<TraceExporterName>();
  for (const name of configured.split(',').map((entry) => entry.trim().toLowerCase())) {
    if (name === 'otlp' || name === 'console') names.add(name);
    else if (name !== 'none' && name !== '') {
      warn(`OTEL_TRACES_EXPORTER "${name}" is not supported (otlp, console, none); ignored`);
    }
  }
  return [...names];
}

/** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf (the spec's default). */
export function otlpProtocol(env: Environment, warn: (message: string) => void = warnLine): OtlpProtocol {
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ||
    env.OTEL_EXPORTER_OTLP_PROTOCOL ||
    'http/protobuf'
  ).trim();
  if ((OTLP_PROTOCOLS as readonly string[]).includes(protocol)) return protocol as OtlpProtocol;
  warn(
    `OTEL_EXPORTER_OTLP_PROTOCOL "${protocol}" is not supported (grpc, http/protobuf, http/json); using http/protobuf`,
  );
  return 'http/protobuf';
}

/**
 * The span processors the environment asks for. Call it once the instrumentations are in place: the
 * exporter modules are loaded here, and the gRPC one loads @grpc/grpc-js.
 */
export function exportProcessors(env: Environment): SpanProcessor[] {
  return traceExporterNames(env).map((name) =>
    name === 'console'
      ? new SimpleSpanProcessor(new ConsoleSpanExporter())
      : // Batched: OTEL_BSP_* tune it; the OTLP exporter reads its endpoint, headers, timeout and compression.
        new BatchSpanProcessor(new WatchedSpanExporter(otlpExporter(otlpProtocol(env))), {
          // The processor takes it (sdk-trace's BatchSpanProcessor); sdk-trace-base's config type does not say so.
          selfObsMeterProvider: DROPPED_SPANS,
        } as BufferConfig),
  );
}

/**
 * What the batch processor says about itself, reduced to the one thing an operator must see: spans dropped
 * because its queue (OTEL_BSP_MAX_QUEUE_SIZE) was full while the collector was slow. It only logs that through
 * OpenTelemetry's diagnostics (silent unless OTEL_LOG_LEVEL is set).
 */
const DROPPED_SPANS: MeterProvider = {
  getMeter: (): Meter => {
    const meter = createNoopMeter();
    return Object.assign(Object.create(meter) as Meter, {
      createCounter: (name: string, options?: object) => {
        const counter = meter.createCounter(name, options);
        if (name !== 'otel.sdk.processor.span.processed') return counter;
        return {
          add: (value: number, attributes?: Record<string, unknown>) => {
            if (attributes?.['error.type'] === 'queue_full') countDroppedSpans(value);
          },
        };
      },
    });
  },
};

interface OtlpModule {
  OTLPTraceExporter: new () => SpanExporter;
}

function otlpExporter(protocol: OtlpProtocol): SpanExporter {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on demand, after the instrumentations */
  const module = (
    protocol === 'grpc'
      ? require('@opentelemetry/exporter-trace-otlp-grpc')
      : protocol === 'http/json'
        ? require('@opentelemetry/exporter-trace-otlp-http')
        : require('@opentelemetry/exporter-trace-otlp-proto')
  ) as OtlpModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return new module.OTLPTraceExporter();
}

/** At most one line about failed exports per this many milliseconds; the failures between are summed up in it. */
export const EXPORT_FAILURE_LOG_INTERVAL_MS = 60_000;

/**
 * An exporter whose failures are seen: each batch it fails to deliver (a collector that refuses, is down or
 * unreachable, e.g. behind a NetworkPolicy) is counted (`trace_export_failures_total`) and logged, at most once
 * a minute with the number of batches failed since the last line. The spans of a failed batch are lost.
 */
export class WatchedSpanExporter implements SpanExporter {
  private lastLoggedAt = -Infinity;
  private unreported = 0;

  constructor(
    private readonly exporter: SpanExporter,
    private readonly warn: (message: string) => void = warnLine,
    private readonly now: () => number = () => performance.now(),
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.exporter.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.failed(spans.length, result.error);
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.exporter.forceFlush?.() ?? Promise.resolve();
  }

  private failed(spans: number, error: Error | undefined): void {
    countTraceExportFailure();
    this.unreported += 1;
    const now = this.now();
    if (now - this.lastLoggedAt < EXPORT_FAILURE_LOG_INTERVAL_MS) return;
    const batches = this.unreported === 1 ? 'a batch' : `${this.unreported} batches`;
    this.warn(
      `Could not export ${batches} of spans (last: ${spans} spans, ${error?.message ?? 'no reason given'}); ` +
        'the spans are lost. Check OTEL_EXPORTER_OTLP_ENDPOINT and that the collector is reachable',
    );
    this.lastLoggedAt = now;
    this.unreported = 0;
  }
}
