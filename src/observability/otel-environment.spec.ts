import { envDetector, hostDetector, osDetector, processDetector } from '@opentelemetry/resources';
import { propagatorFromEnv, resourceDetectorsFromEnv } from './otel-environment';

describe('propagatorFromEnv (OTEL_PROPAGATORS)', () => {
  const fields = (env: Record<string, string>, warn = jest.fn()) => propagatorFromEnv(env, warn)?.fields();

  it("is W3C trace context alone when unset or blank (a caller's baggage is not handed on); baggage when named", () => {
    expect(fields({})).toEqual(['traceparent', 'tracestate']);
    expect(fields({ OTEL_PROPAGATORS: ' ' })).toEqual(['traceparent', 'tracestate']);
    expect(fields({ OTEL_PROPAGATORS: 'tracecontext,baggage' })).toEqual(['traceparent', 'tracestate', 'baggage']);
  });

  it('builds the named ones, each once, including B3 (one header or several) and Jaeger', () => {
    expect(fields({ OTEL_PROPAGATORS: 'tracecontext' })).toEqual(['traceparent', 'tracestate']);
    expect(fields({ OTEL_PROPAGATORS: 'b3' })).toEqual(['b3']);
    expect(fields({ OTEL_PROPAGATORS: 'b3multi' })).toEqual(expect.arrayContaining(['x-b3-traceid', 'x-b3-spanid']));
    expect(fields({ OTEL_PROPAGATORS: 'jaeger' })).toEqual(['uber-trace-id']);
    expect(fields({ OTEL_PROPAGATORS: 'tracecontext, b3, tracecontext' })).toEqual(['traceparent', 'tracestate', 'b3']);
  });

  it('reads the names whatever their case, as the specification asks of its enum values', () => {
    const warn = jest.fn();
    expect(fields({ OTEL_PROPAGATORS: 'TraceContext,Baggage' }, warn)).toEqual([
      'traceparent',
      'tracestate',
      'baggage',
    ]);
    expect(propagatorFromEnv({ OTEL_PROPAGATORS: 'NONE' }, warn)).toBeNull();
    expect(warn).not.toHaveBeenCalled();
  });

  it('registers none for "none", and warns about a name it does not know instead of failing the start', () => {
    expect(propagatorFromEnv({ OTEL_PROPAGATORS: 'tracecontext,none' }, jest.fn())).toBeNull();
    const warn = jest.fn();
    expect(fields({ OTEL_PROPAGATORS: 'xray,tracecontext' }, warn)).toEqual(['traceparent', 'tracestate']);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('OTEL_PROPAGATORS "xray" is not supported'));
    expect(propagatorFromEnv({ OTEL_PROPAGATORS: 'xray' }, jest.fn())).toBeNull();
  });

  it('does not take a name from Object.prototype for a propagator', () => {
    const warn = jest.fn();
    expect(propagatorFromEnv({ OTEL_PROPAGATORS: 'constructor' }, warn)).toBeNull();
    expect(warn).toHaveBeenCalledTimes(1);
  });
});

describe('resourceDetectorsFromEnv (OTEL_NODE_RESOURCE_DETECTORS)', () => {
  it('is env, process and host when unset, as the Node SDK does', () => {
    expect(resourceDetectorsFromEnv({}, jest.fn())).toEqual([envDetector, processDetector, hostDetector]);
  });

  it('takes the named ones, all of them, or none', () => {
    expect(resourceDetectorsFromEnv({ OTEL_NODE_RESOURCE_DETECTORS: 'env,os' }, jest.fn())).toEqual([
      envDetector,
      osDetector,
    ]);
    expect(resourceDetectorsFromEnv({ OTEL_NODE_RESOURCE_DETECTORS: 'all' }, jest.fn())).toHaveLength(5);
    expect(resourceDetectorsFromEnv({ OTEL_NODE_RESOURCE_DETECTORS: 'none' }, jest.fn())).toEqual([]);
  });

  it('warns about a detector it does not know and keeps the others', () => {
    const warn = jest.fn();
    expect(resourceDetectorsFromEnv({ OTEL_NODE_RESOURCE_DETECTORS: 'env,gcp' }, warn)).toEqual([envDetector]);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('OTEL_NODE_RESOURCE_DETECTORS "gcp" is not supported'));
  });
});
