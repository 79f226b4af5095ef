import { Injectable } from '@nestjs/common';
import { DatabasePool } from '../../database/database-pool';
import { sql } from '../../database/sql';

/** One intent on one platform over a window: latency against the platform's budget, errors, misses, volume. */
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

/** The outcomes counted as errors (as `fulfillment_errors_total` counts them). */
const ERROR_OUTCOMES = `('failed', 'timed-out', 'degraded', 'busy', 'error')`;
const MISSED = `(outcome = 'timed-out' OR duration_ms > budget_ms)`;

const SUMMARY = sql<IntentSummary, [windowSeconds: number]>(
  'console_intent_summary',
  `SELECT platform, intent, count(*)::int AS turns,
          percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS "p50Ms",
          percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS "p95Ms",
          percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS "p99Ms",
          max(budget_ms) AS "budgetMs",
          avg(CASE WHEN outcome IN ${ERROR_OUTCOMES} THEN 1 ELSE 0 END)::float8 AS "errorRatio",
          avg(CASE WHEN ${MISSED} THEN 1 ELSE 0 END)::float8 AS "deadlineMissRatio",
          (count(*) / ($1::float8 / 60))::float8 AS "turnsPerMinute"
     FROM turn_log
    WHERE at >= now() - make_interval(secs => $1::float8)
    GROUP BY platform, intent
    ORDER BY count(*) DESC, intent
    LIMIT 200`,
);

const SERIES = sql<
  IntentBucket,
  [intent: string, windowSeconds: number, bucketSeconds: number, platform: string | null]
>(
  'console_intent_series',
  `SELECT to_timestamp(floor(extract(epoch FROM at) / $3) * $3) AS at, count(*)::int AS turns,
          percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS "p50Ms",
          percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS "p95Ms",
          percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS "p99Ms",
          count(*) FILTER (WHERE outcome IN ${ERROR_OUTCOMES})::int AS errors,
          count(*) FILTER (WHERE ${MISSED})::int AS "deadlineMisses"
     FROM turn_log
    WHERE intent = $1 AND at >= now() - make_interval(secs => $2::float8)
      AND ($4::varchar IS NULL OR platform = $4)
    GROUP BY 1
    ORDER BY 1`,
);

export const STATS_WINDOWS = {
  '1h': { seconds: 3600, bucketSeconds: 60 },
  '24h': { seconds: 86_400, bucketSeconds: 900 },
};
export type StatsWindow = keyof typeof STATS_WINDOWS;

/** Per-intent latency, error and deadline-miss figures from the turn log, for the console's charts. */
@Injectable()
export class IntentStats {
  constructor(private readonly pool: DatabasePool) {}

  summary(window: StatsWindow): Promise<IntentSummary[]> {
    return this.pool.run(SUMMARY, [STATS_WINDOWS[window].seconds]);
  }

  /** One intent's buckets, on one platform or all of them. */
  series(intent: string, window: StatsWindow, platform?: string): Promise<IntentBucket[]> {
    const { seconds, bucketSeconds } = STATS_WINDOWS[window];
    return this.pool.run(SERIES, [intent, seconds, bucketSeconds, platform ?? null]);
  }
}
