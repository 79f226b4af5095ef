import { MigrationInterface, QueryRunner } from 'typeorm';

/** Hours of turns rolled up when the table is made: the longest window the console's Intents view shows. */
const BACKFILL_HOURS = 24;

/**
 * One hour of the turn log (`$1` hours before the current one; 0: the current hour up to now) rolled up into minutes
 * and quarters of an hour, as the turn log's writer rolls up its batches: the same error outcomes and deadline
 * misses, durations in the buckets of src/console/turn-log/latency-histogram.ts as this release lays them out (0:
 * under 0.25 ms; then eight per doubling from 0.25 ms; the last from 65.5 s). An hour holds whole periods, and each
 * statement reads only its hour (IDX_turn_log_at), however busy the day was. `now()` is the transaction's: every
 * statement sees the same hours.
 */
const BACKFILL_HOUR = `
  WITH thresholds AS (
         SELECT ARRAY(SELECT 0.25 * power(2::float8, i / 8.0::float8) FROM generate_series(0, 144) AS i) AS lower_bounds),
       turns AS (
         SELECT at, platform, intent, outcome, duration_ms, budget_ms,
                width_bucket(duration_ms::float8, lower_bounds) AS latency_bucket
           FROM turn_log, thresholds
          WHERE at >= date_trunc('hour', now()) - make_interval(hours => $1)
            AND ($1 = 0 OR at < date_trunc('hour', now()) - make_interval(hours => $1 - 1))),
       periods AS (
         SELECT span.seconds AS span_seconds,
                to_timestamp(floor(extract(epoch FROM at) / span.seconds) * span.seconds) AS starts_at, platform, intent,
                count(*)::int AS turns,
                count(*) FILTER (WHERE outcome IN ('failed', 'timed-out', 'degraded', 'busy', 'error'))::int AS errors,
                count(*) FILTER (WHERE outcome = 'timed-out' OR duration_ms > budget_ms)::int AS deadline_misses,
                max(budget_ms) AS budget_max_ms, min(duration_ms) AS duration_min_ms, max(duration_ms) AS duration_max_ms,
                array_agg(latency_bucket) AS buckets
           FROM turns, (VALUES (60), (900)) AS span(seconds)
          GROUP BY 1, 2, 3, 4)
  INSERT INTO "turn_log_rollup" ("span_seconds", "starts_at", "platform", "intent", "turns", "errors",
                                 "deadline_misses", "budget_max_ms", "duration_min_ms", "duration_max_ms", "latency")
  SELECT span_seconds, starts_at, platform, intent, turns, errors, deadline_misses, budget_max_ms, duration_min_ms,
         duration_max_ms,
         ARRAY(SELECT count(b.bucket)::int
                 FROM generate_series(0, 145) AS i LEFT JOIN unnest(buckets) AS b(bucket) ON b.bucket = i
                GROUP BY i ORDER BY i)
    FROM periods`;

/**
 * The turn log rolled up per minute and per quarter of an hour, intent and platform, with a latency histogram: the
 * console's Intents view read every turn of its window (three exact percentiles over a day's turns, on the primary)
 * and ran out of statement_timeout with a few million turns a day. The turn log's writer keeps the rollup from now
 * on, in the statement that writes each batch; the last day is rolled up here from the turn log, an hour per
 * statement. Turns written by replicas still running the previous release during a rolling update are in the turn
 * log only.
 */
export class TurnLogRollup1796700000000 implements MigrationInterface {
  name = 'TurnLogRollup1796700000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "turn_log_rollup" (
                "span_seconds" integer NOT NULL,
                "starts_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "platform" character varying(32) NOT NULL,
                "intent" character varying(200) NOT NULL,
                "turns" integer NOT NULL,
                "errors" integer NOT NULL,
                "deadline_misses" integer NOT NULL,
                "budget_max_ms" integer NOT NULL,
                "duration_min_ms" real NOT NULL,
                "duration_max_ms" real NOT NULL,
                "latency" integer array NOT NULL,
                CONSTRAINT "PK_d44b63f1cc619aa0e04949a96e9" PRIMARY KEY ("span_seconds", "starts_at", "platform", "intent")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_turn_log_rollup_intent" ON "turn_log_rollup" ("intent", "span_seconds", "starts_at")
        `);
    for (let hoursAgo = BACKFILL_HOURS; hoursAgo >= 0; hoursAgo--) await queryRunner.query(BACKFILL_HOUR, [hoursAgo]);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."IDX_turn_log_rollup_intent"
        `);
    await queryRunner.query(`
            DROP TABLE "turn_log_rollup"
        `);
  }
}
