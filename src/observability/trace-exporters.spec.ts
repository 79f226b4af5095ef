import { otlpProtocol, traceExporterNames } from './trace-exporters';

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
