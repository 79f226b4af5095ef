import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { droppedSpans, traceExportFailures } from './trace-export-health';
import {
  EXPORT_FAILURE_LOG_INTERVAL_MS,
  exportProcessors,
  otlpProtocol,
  traceExporterNames,
  WatchedSpanExporter,
} from './trace-exporters';

describe('traceExporterNames', () => {
  const warnings: string[] = [];
  const warn = (message: string) => warnings.push(message);
  beforeEach(() => (warnings.length = 0));

  it('exports nothing by default, so nobody retries a missing collector', () => {
    expect(traceExporterNames({}, warn)).toEqual([]);
  });

  it('exports OTLP once an endpoint is configured', () => {
    expect(traceExporterNames({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, warn)).toEqual(['otlp']);
    expect(traceExporterNames({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }, warn)).toEqual([
      'otlp',
    ]);
  });

  it('follows OTEL_TRACES_EXPORTER, and warns about what it cannot do', () => {
    expect(traceExporterNames({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' }, warn)).toEqual(
      [],
    );
    expect(traceExporterNames({ OTEL_TRACES_EXPORTER: ' OTLP , console,otlp' }, warn)).toEqual(['otlp', 'console']);
    expect(traceExporterNames({ OTEL_TRACES_EXPORTER: 'zipkin' }, warn)).toEqual([]);
    expect(warnings).toEqual(['OTEL_TRACES_EXPORTER "zipkin" is not supported (otlp, console, none); ignored']);
  });
});

describe('otlpProtocol', () => {
  it('prefers the traces-specific variable and defaults to http/protobuf', () => {
    expect(otlpProtocol({})).toBe('http/protobuf');
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toBe('grpc');
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' })).toBe(
      'http/json',
    );
    const warnings: string[] = [];
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' }, (m) => warnings.push(m))).toBe('http/protobuf');
    expect(warnings).toHaveLength(1);
  });
});

describe('WatchedSpanExporter', () => {
  /** An exporter whose collector refuses every batch (the real OTLP path is in test/trace-export.e2e-spec.ts). */
  const refused: SpanExporter = {
    export: (_spans, done) => done({ code: ExportResultCode.FAILED, error: new Error('Bad Request') }),
    shutdown: () => Promise.resolve(),
  };

  async function exportOne(exporter: SpanExporter): Promise<ExportResult> {
    const provider = new BasicTracerProvider({ spanProcessors: [] });
    const span = provider.getTracer('test').startSpan('turn') as unknown as ReadableSpan & { end(): void };
    span.end();
    return new Promise((resolve) => exporter.export([span], resolve));
  }

  it('counts every failed batch and logs the first, then at most one line a minute with the count', async () => {
    const lines: string[] = [];
    let clock = 0;
    const exporter = new WatchedSpanExporter(
      refused,
      (line) => lines.push(line),
      () => clock,
    );
    const before = traceExportFailures();
    expect((await exportOne(exporter)).code).toBe(ExportResultCode.FAILED);
    clock += 1000;
    await exportOne(exporter);
    await exportOne(exporter);
    expect(traceExportFailures() - before).toBe(3);
    expect(lines).toEqual([
      'Could not export a batch of spans (last: 1 spans, Bad Request); the spans are lost. ' +
        'Check OTEL_EXPORTER_OTLP_ENDPOINT and that the collector is reachable',
    ]);
    clock += EXPORT_FAILURE_LOG_INTERVAL_MS;
    await exportOne(exporter);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^Could not export 3 batches of spans/);
  });

  it('passes successes through without a word', async () => {
    const lines: string[] = [];
    const before = traceExportFailures();
    const exporter = new WatchedSpanExporter(new InMemorySpanExporter(), (line) => lines.push(line));
    expect((await exportOne(exporter)).code).toBe(ExportResultCode.SUCCESS);
    expect(lines).toEqual([]);
    expect(traceExportFailures()).toBe(before);
  });
});

describe('the batch processor of exportProcessors', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('counts the spans it drops when its queue is full (trace_spans_dropped_total), which it only tells diagnostics', async () => {
    process.env.OTEL_BSP_MAX_QUEUE_SIZE = '2';
    process.env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE = '1';
    process.env.OTEL_BSP_SCHEDULE_DELAY = '60000';
    // A collector that is not there: nothing leaves the queue in the meantime.
    const [processor] = exportProcessors({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
    });
    const provider = new BasicTracerProvider({ spanProcessors: [processor] });
    const before = droppedSpans();
    const tracer = provider.getTracer('test');
    for (let i = 0; i < 5; i++) tracer.startSpan(`span ${i}`).end();
    // Two fit in the queue; the first may already be on its way to the collector when the others end.
    expect(droppedSpans() - before).toBeGreaterThanOrEqual(2);
    expect(droppedSpans() - before).toBeLessThanOrEqual(3);
    await provider.shutdown().catch(() => undefined);
  });
});
