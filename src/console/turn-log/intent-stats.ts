import { Injectable } from '@nestjs/common';
import { DatabasePool } from '../../database/database-pool';
import { sql } from '../../database/sql';
import { bucketwiseSql, latencyPercentile } from './latency-histogram';

/**
 * One intent on one platform over a window: latency against the platform's budget, errors, misses, volume. The
 * window is in whole buckets of its chart (minutes over an hour, quarters of an hour over a day): the last `window`
 * and the current bucket so far.
 */
export interface IntentSummary {
  readonly platform: string;
  readonly intent: string;
  readonly turns: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  /** The platform's budget for the turn (the largest seen in the window). */
  readonly budgetMs: number;
  readonly errorRatio: number;
  /** Turns that timed out or took longer than their budget. */
  readonly deadlineMissRatio: number;
  readonly turnsPerMinute: number;
}

/** One bucket of an intent's series, for the charts. */
export interface IntentBucket {
  readonly at: Date;
  readonly turns: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly deadlineMisses: number;
}

/** The figures read from the rollup, before the percentiles are taken from the latency histogram. */
interface Latencies {
  readonly minMs: number;
  readonly maxMs: number;
  readonly latency: number[];
}

/** The histograms of the rows grouped, added bucket by bucket. */
const MERGED_LATENCY = bucketwiseSql((bucket) => `sum(latency[${bucket + 1}])`);

/**
 * The window's periods of `spanSeconds` (a parameter): the current one, and those that start at most
 * `windowSeconds` before it. Always the whole window, and at most a period more.
 */
const IN_WINDOW = (windowSeconds: string, spanSeconds: string) =>
  `span_seconds = ${spanSeconds}
      AND starts_at >= to_timestamp(floor(extract(epoch FROM now()) / ${spanSeconds}) * ${spanSeconds})
                       - make_interval(secs => ${windowSeconds}::float8)`;

const SUMMARY = sql<
  Omit<IntentSummary, 'p50Ms' | 'p95Ms' | 'p99Ms'> & Latencies,
  [windowSeconds: number, spanSeconds: number]
>(
  'console_intent_summary',
  `SELECT platform, intent, sum(turns)::int AS turns, max(budget_max_ms) AS "budgetMs",
          sum(errors)::float8 / sum(turns) AS "errorRatio",
          sum(deadline_misses)::float8 / sum(turns) AS "deadlineMissRatio",
          sum(turns) / (($1::float8 + mod(extract(epoch FROM now()), $2::integer)::float8) / 60) AS "turnsPerMinute",
          min(duration_min_ms) AS "minMs", max(duration_max_ms) AS "maxMs", ${MERGED_LATENCY} AS latency
     FROM turn_log_rollup
    WHERE ${IN_WINDOW('$1', '$2::integer')}
    GROUP BY platform, intent
    ORDER BY sum(turns) DESC, intent
    LIMIT 200`,
);

const SERIES = sql<
  Omit<IntentBucket, 'p50Ms' | 'p95Ms' | 'p99Ms'> & Latencies,
  [intent: string, windowSeconds: number, spanSeconds: number, platform: string | null]
>(
  'console_intent_series',
  `SELECT starts_at AS at, sum(turns)::int AS turns, sum(errors)::int AS errors,
          sum(deadline_misses)::int AS "deadlineMisses",
          min(duration_min_ms) AS "minMs", max(duration_max_ms) AS "maxMs", ${MERGED_LATENCY} AS latency
     FROM turn_log_rollup
    WHERE intent = $1 AND ${IN_WINDOW('$2', '$3::integer')}
      AND ($4::varchar IS NULL OR platform = $4)
    GROUP BY starts_at
    ORDER BY starts_at`,
);

/** p50, p95 and p99 from the merged histogram, in place of it. */
function withPercentiles<Row extends Latencies>({
  minMs,
  maxMs,
  latency,
  ...figures
}: Row): Omit<Row, keyof Latencies> & { p50Ms: number; p95Ms: number; p99Ms: number } {
  const seen = { minMs, maxMs };
  return {
    ...figures,
    p50Ms: latencyPercentile(latency, 0.5, seen),
    p95Ms: latencyPercentile(latency, 0.95, seen),
    p99Ms: latencyPercentile(latency, 0.99, seen),
  };
}

/** The windows, each with its chart's bucket: the periods the turn log's writer rolls turns up into. */
export const STATS_WINDOWS = {
  '1h': { seconds: 3600, bucketSeconds: 60 },
  '24h': { seconds: 86_400, bucketSeconds: 900 },
};
export type StatsWindow = keyof typeof STATS_WINDOWS;

/** The periods of the rollup (turn_log_rollup.span_seconds). */
export const ROLLUP_SPANS_SECONDS: readonly number[] = Object.values(STATS_WINDOWS).map(
  (window) => window.bucketSeconds,
);

/**
 * Per-intent latency, error and deadline-miss figures for the console's charts, from the turn log's rollup: a row
 * per period of the window's bucket, intent and platform (an hour is 61 minutes, a day 97 quarters of an hour,
 * whatever the traffic). Percentiles come from its latency histograms, within `PERCENTILE_RELATIVE_ERROR` (9 %) of
 * the exact figures.
 */
@Injectable()
export class IntentStats {
  constructor(private readonly pool: DatabasePool) {}

  async summary(window: StatsWindow): Promise<IntentSummary[]> {
    const { seconds, bucketSeconds } = STATS_WINDOWS[window];
    return (await this.pool.run(SUMMARY, [seconds, bucketSeconds])).map(withPercentiles);
  }

  /** One intent's buckets, on one platform or all of them. */
  async series(intent: string, window: StatsWindow, platform?: string): Promise<IntentBucket[]> {
    const { seconds, bucketSeconds } = STATS_WINDOWS[window];
    return (await this.pool.run(SERIES, [intent, seconds, bucketSeconds, platform ?? null])).map(withPercentiles);
  }
}
