import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { type Attributes, type Counter, createNoopMeter, type Histogram, type Meter } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { AppConfig } from '../config';
import { ListenError } from '../common/errors/listen-error';
import { DEFAULT_SERVICE_NAME } from './telemetry';
import { droppedSpans, traceExportFailures } from './trace-export-health';
import type { Platform } from '../common/platform';

/** Turn outcomes counted as errors (the turn pipeline names the outcomes). */
const ERROR_OUTCOMES: ReadonlySet<string> = new Set(['failed', 'timed-out', 'degraded', 'busy', 'error']);

/** Whether a turn's outcome counts as an error (`fulfillment_errors_total`, and the turn span's status). */
export function isErrorOutcome(outcome: string): boolean {
  return ERROR_OUTCOMES.has(outcome);
}
/**
 * Fine between 2.5 s and 5 s, where the platforms' deadlines are (3.5–4.5 s by default): p99 against a deadline is
 * read there. Up to 60 s, the longest deadline accepted (Rasa's and generic's; CX's and Lex's 29.5 s): a quantile
 * never reads above the last finite bucket, so a p99 past it would look like that bucket, below the deadline alert.
 */
export const DURATION_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7.5, 10, 12.5, 15, 20, 25, 30, 40, 50, 60,
];

export class MetricsServerError extends ListenError {
  constructor(host: string, port: number, cause: unknown) {
    super('metrics server', host, port, 'METRICS_PORT', cause, 'METRICS_ENABLED=false');
    this.name = 'MetricsServerError';
  }
}

/**
 * The service's Prometheus metrics, served on their own port (METRICS_PORT, path /metrics) so they are never
 * reachable through the webhook listener. Disabled (METRICS_ENABLED=false), every instrument is a no-op.
 * Label values are bounded sets: platforms, registered intents or `unknown`, outcomes, auth methods and
 * reasons from the code - never input from a request. A request costs two instrument updates (~2 µs).
 */
@Injectable()
export class Metrics implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private readonly exporter?: PrometheusExporter;
  private readonly provider?: MeterProvider;
  private readonly meter: Meter;
  private readonly requests: Counter;
  private readonly duration: Histogram;
  private readonly errors: Counter;
  private readonly replays: Counter;
  private readonly authFailures: Counter;
  private readonly throttled: Counter;
  private readonly callbacks: Counter;

  constructor(private readonly config: AppConfig) {
    const { metricsEnabled, metricsPort } = config.observability;
    if (metricsEnabled) {
      this.exporter = new PrometheusExporter({
        host: config.http.host,
        port: metricsPort,
        preventServerStart: true,
        withoutScopeInfo: true,
      });
      this.provider = new MeterProvider({
        // target_info: the service name and attributes the traces carry (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES),
        // so that a deployment's metrics and traces can be matched.
        resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: DEFAULT_SERVICE_NAME }).merge(
          detectResources({ detectors: [envDetector] }),
        ),
        readers: [this.exporter],
      });
      this.meter = this.provider.getMeter(DEFAULT_SERVICE_NAME);
    } else {
      this.meter = createNoopMeter();
    }
    const meter = this.meter;
    this.requests = meter.createCounter('fulfillment_requests_total', {
      description: 'Webhook turns by platform, intent (registered, else "unknown") and outcome',
    });
    this.duration = meter.createHistogram('fulfillment_request_duration_seconds', {
      description: 'Time from receiving a validated turn to its reply, by platform, intent and outcome',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_SECONDS },
    });
    this.errors = meter.createCounter('fulfillment_errors_total', {
      description: 'Turns that failed, timed out, were answered degraded or ended in an error response',
    });
    this.replays = meter.createCounter('idempotent_replays_total', {
      description: 'Turns answered with the stored reply of an earlier delivery',
    });
    this.authFailures = meter.createCounter('auth_failures_total', {
      description: 'Refused authentication or authorization, by auth method and reason',
    });
    this.throttled = meter.createCounter('throttled_requests_total', {
      description:
        'Requests refused with 429 by a rate limit: limiter "caller" (a caller\'s budget) or "preauth" (an address before authentication)',
    });
    this.callbacks = meter.createCounter('callback_deliveries_total', {
      description: 'Callback delivery attempts by outcome (delivered, retry, dead, disabled)',
    });
    this.cumulative(
      'trace_export_failures_total',
      'Span batches the trace exporters failed to deliver (the spans are lost)',
      (observe) => observe(traceExportFailures()),
    );
    this.cumulative(
      'trace_spans_dropped_total',
      'Spans dropped before export because the batch queue (OTEL_BSP_MAX_QUEUE_SIZE) was full: the collector is slow',
      (observe) => observe(droppedSpans()),
    );
    // Constant per platform, so that alerts and dashboards compare latency with the deadline actually configured.
    const deadlines = Object.entries(config.fulfillment.deadlinesMs);
    this.gauge('fulfillment_deadline_seconds', "Each platform's turn deadline (its *_DEADLINE_MS)", (observe) => {
      for (const [platform, ms] of deadlines) observe(ms / 1000, { platform });
    });
  }

  /** Whether anything is measured (METRICS_ENABLED): collectors with a cost of their own check first. */
  get enabled(): boolean {
    return this.exporter !== undefined;
  }

  async onModuleInit(): Promise<void> {
    if (!this.exporter) return;
    const { host } = this.config.http;
    const { metricsPort } = this.config.observability;
    try {
      await this.exporter.startServer();
    } catch (error: unknown) {
      throw new MetricsServerError(host, metricsPort, error);
    }
    this.logger.log(`Metrics on http://${host}:${metricsPort}/metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.provider?.shutdown();
  }

  /** One webhook turn; `seconds` from its start in the turn pipeline. */
  turnFinished(platform: Platform, intent: string, outcome: string, seconds: number): void {
    const attributes: Attributes = { platform, intent, outcome };
    this.requests.add(1, attributes);
    this.duration.record(seconds, attributes);
    if (isErrorOutcome(outcome)) this.errors.add(1, attributes);
    if (outcome === 'replayed') this.replays.add(1, { platform, intent });
  }

  /** A refused authentication or authorization, by method (`none` without credentials) and reason code. */
  authFailure(method: string, reason: string): void {
    this.authFailures.add(1, { method, reason });
  }

  /** A request refused by a rate limit: every one (the audit log keeps one row per address and window). */
  throttledRequest(limiter: 'caller' | 'preauth'): void {
    this.throttled.add(1, { limiter });
  }

  /**
   * A gauge read when Prometheus scrapes, registered by the resource it measures (the job queue, the pool):
   * `collect` reports each value with its attributes. A series `collect` stops reporting (a queue whose size
   * could not be read, a replica whose lag is unknown) reads NaN until it is reported again: the SDK would go on
   * exporting its last value, and an alert on it would see a backlog or a lag frozen at their last reading.
   */
  gauge(
    name: string,
    description: string,
    collect: (observe: (value: number, attributes?: Attributes) => void) => void | Promise<void>,
  ): void {
    let reported = new Map<string, Attributes | undefined>();
    this.meter.createObservableGauge(name, { description }).addCallback(async (result) => {
      const now = new Map<string, Attributes | undefined>();
      await collect((value, attributes) => {
        now.set(seriesKey(attributes), attributes);
        result.observe(value, attributes);
      });
      for (const [key, attributes] of reported) if (!now.has(key)) result.observe(Number.NaN, attributes);
      reported = now;
    });
  }

  /**
   * A counter the measured resource keeps itself (CPU seconds, …), read when Prometheus scrapes: `collect`
   * reports each running total with its attributes.
   */
  cumulative(
    name: string,
    description: string,
    collect: (observe: (value: number, attributes?: Attributes) => void) => void,
  ): void {
    this.meter.createObservableCounter(name, { description }).addCallback((result) => {
      collect((value, attributes) => result.observe(value, attributes));
    });
  }

  /** A histogram registered by the resource it measures; returns the function that records one value. */
  histogram(
    name: string,
    description: string,
    bucketsSeconds: number[],
  ): (seconds: number, attributes?: Attributes) => void {
    const histogram = this.meter.createHistogram(name, {
      description,
      unit: 's',
      advice: { explicitBucketBoundaries: bucketsSeconds },
    });
    return (seconds, attributes) => histogram.record(seconds, attributes);
  }

  /** A counter registered by the resource it counts; returns the function that adds to it. */
  counter(name: string, description: string): (attributes?: Attributes) => void {
    const counter = this.meter.createCounter(name, { description });
    return (attributes) => counter.add(1, attributes);
  }

  callbackDelivery(outcome: 'delivered' | 'retry' | 'dead' | 'disabled'): void {
    this.callbacks.add(1, { outcome });
  }
}

/** A series' identity: its attributes, in name order. */
function seriesKey(attributes: Attributes | undefined): string {
  return JSON.stringify(Object.entries(attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
