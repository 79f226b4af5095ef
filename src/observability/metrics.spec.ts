import type { MetricReader } from '@opentelemetry/sdk-metrics';
import type { AppConfig } from '../config';
import { Metrics } from './metrics';

function metricsOn(): Metrics {
  return new Metrics({
    http: { host: '127.0.0.1' },
    observability: { metricsEnabled: true, metricsPort: 0 },
    fulfillment: { deadlinesMs: {} },
  } as unknown as AppConfig);
}

/** The gauge's series as a scrape would read them: attributes and value. */
async function scrape(metrics: Metrics, name: string): Promise<[Record<string, unknown>, number][]> {
  const reader = (metrics as unknown as { exporter: MetricReader }).exporter;
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .find((candidate) => candidate.descriptor.name === name);
  return (metric?.dataPoints ?? []).map((point) => [point.attributes, point.value as number]);
}

describe('Metrics.gauge', () => {
  it('reads NaN for a series no longer reported, not its last value, and the value again once it is', async () => {
    const metrics = metricsOn();
    let depth: number | undefined = 12;
    metrics.gauge('queue_depth', 'test', (observe) => {
      if (depth !== undefined) observe(depth, { queue: 'callbacks' });
      observe(1, { queue: 'other' });
    });
    expect(await scrape(metrics, 'queue_depth')).toEqual([
      [{ queue: 'callbacks' }, 12],
      [{ queue: 'other' }, 1],
    ]);
    depth = undefined; // its size could not be read
    const unknown = await scrape(metrics, 'queue_depth');
    expect(unknown).toContainEqual([{ queue: 'callbacks' }, Number.NaN]);
    expect(unknown).toContainEqual([{ queue: 'other' }, 1]);
    expect(await scrape(metrics, 'queue_depth')).toContainEqual([{ queue: 'callbacks' }, Number.NaN]);
    depth = 3;
    expect(await scrape(metrics, 'queue_depth')).toContainEqual([{ queue: 'callbacks' }, 3]);
    await metrics.onApplicationShutdown();
  });
});

describe('Metrics target_info', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('carries the service name and attributes the traces carry (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES)', async () => {
    process.env.OTEL_SERVICE_NAME = 'payments-webhooks';
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment.name=prod-eu';
    const metrics = metricsOn();
    const reader = (metrics as unknown as { exporter: MetricReader }).exporter;
    const { resourceMetrics } = await reader.collect();
    expect(resourceMetrics.resource.attributes).toMatchObject({
      'service.name': 'payments-webhooks',
      'deployment.environment.name': 'prod-eu',
    });
    await metrics.onApplicationShutdown();
  });
});
