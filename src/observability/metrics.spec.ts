import type { MetricReader } from '@opentelemetry/sdk-metrics';
import { loadConfig } from '../config/load-config';
import { DURATION_BUCKETS_SECONDS, type Metrics } from './metrics';
import { collectedPoints, metricsForTest } from './testing/collected-metrics';

const metricsOn = metricsForTest;

/** The gauge's series as a scrape would read them: attributes and value. */
async function scrape(metrics: Metrics, name: string): Promise<[Record<string, unknown>, number][]> {
  return (await collectedPoints(metrics, name)).map((point) => [point.attributes, point.value as number]);
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

describe('fulfillment_request_duration_seconds buckets', () => {
  const DEADLINES = [
    'DIALOGFLOW_ES_DEADLINE_MS',
    'DIALOGFLOW_CX_DEADLINE_MS',
    'LEX_V2_DEADLINE_MS',
    'RASA_DEADLINE_MS',
    'GENERIC_DEADLINE_MS',
  ];

  /** The longest deadline the configuration accepts for a variable (its @Max). */
  function longestAccepted(name: string): number {
    let low = 50;
    let high = 600_000;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      try {
        loadConfig({ [name]: String(middle) }, '/srv');
        low = middle;
      } catch {
        high = middle - 1;
      }
    }
    return low;
  }

  it.each(DEADLINES)('reach past the longest %s accepted, finely enough to compare a p99 with it', (name) => {
    const seconds = longestAccepted(name) / 1000;
    const top = DURATION_BUCKETS_SECONDS.at(-1) as number;
    expect(top).toBeGreaterThanOrEqual(seconds);
    // Between neighbouring bounds near the deadline a quantile is interpolated: at most a third apart.
    const above = DURATION_BUCKETS_SECONDS.findIndex((bound) => bound >= seconds);
    expect(DURATION_BUCKETS_SECONDS[above] / DURATION_BUCKETS_SECONDS[above - 1]).toBeLessThanOrEqual(4 / 3);
  });
});
