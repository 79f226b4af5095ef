import type { Attributes } from '@opentelemetry/api';
import type { MetricReader } from '@opentelemetry/sdk-metrics';
import type { AppConfig } from '../../config';
import { Metrics } from '../metrics';

/** Real metrics, exported nowhere (no server is started), for a test to read what was recorded. */
export function metricsForTest(): Metrics {
  return new Metrics({
    http: { host: '127.0.0.1' },
    observability: { metricsEnabled: true, metricsPort: 0 },
    fulfillment: { deadlinesMs: {} },
  } as unknown as AppConfig);
}

/** A metric's points as a scrape would read them now: each series' attributes and value. */
export async function collectedPoints(
  metrics: Metrics,
  name: string,
): Promise<{ attributes: Attributes; value: unknown }[]> {
  const reader = (metrics as unknown as { exporter: MetricReader }).exporter;
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .find((candidate) => candidate.descriptor.name === name);
  return (metric?.dataPoints ?? []).map((point) => ({ attributes: point.attributes, value: point.value }));
}
