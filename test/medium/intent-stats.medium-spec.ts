import { Client } from 'pg';
import type { QueryRunner } from 'typeorm';
import type { CaptureRules } from '../../src/console/capture/capture-rules';
import type { ConsoleOptions } from '../../src/console/console.options';
import type { AppConfig } from '../../src/config';
import { IntentStats } from '../../src/console/turn-log/intent-stats';
import {
  LATENCY_BUCKETS,
  latencyBucket,
  PERCENTILE_RELATIVE_ERROR,
} from '../../src/console/turn-log/latency-histogram';
import { TurnLogWriter } from '../../src/console/turn-log/turn-log.writer';
import { TurnLogRollup1796700000000 } from '../../src/database/migrations/1796700000000-TurnLogRollup';
import { type FinishedTurn, TurnJournal } from '../../src/observability/turn-journal';
import { mediumDatabase, MediumDatabase } from './support/medium-database';
import { randomSource } from '../support/mutations';

const options = { turnLog: { enabled: true, retentionHours: 72, flushMs: 60_000, maxBuffered: 100_000 } };
const config = { observability: { parameterAllowlist: [] } } as unknown as AppConfig;
const noCaptures = { matches: () => false } as unknown as CaptureRules;

/** A replica's turn log writer: turns recorded on the journal are written (and rolled up) by `flush()`. */
function replica(db: MediumDatabase): { journal: TurnJournal; writer: TurnLogWriter } {
  const journal = new TurnJournal();
  const writer = new TurnLogWriter(journal, db.pool, options as ConsoleOptions, noCaptures, config);
  writer.onApplicationBootstrap();
  return { journal, writer };
}

let turnNumber = 0;
const turn = (
  fields: Pick<FinishedTurn, 'platform' | 'intent' | 'durationMs' | 'budgetMs'> & Partial<FinishedTurn>,
) => ({
  at: Date.now(),
  requestId: `req-${++turnNumber}`,
  callerId: 'bot',
  outcome: 'fulfilled',
  ...fields,
});

type Exact = {
  platform: string;
  intent: string;
  turns: number;
  p50: number;
  p95: number;
  p99: number;
  budget: number;
  errors: number;
  misses: number;
};

/**
 * The figures computed from every turn of the turn log, as the view computed them before (the nearest-rank
 * percentiles: the histogram's are within PERCENTILE_RELATIVE_ERROR of these), over the periods of `$3` seconds the
 * view takes for a window of `$1`.
 */
const EXACT = (columns: string, groupBy = columns) => `
  SELECT ${columns}, count(*)::int AS turns,
         percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
         percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
         percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99,
         max(budget_ms) AS budget,
         count(*) FILTER (WHERE outcome IN ('failed', 'timed-out', 'degraded', 'busy', 'error'))::int AS errors,
         count(*) FILTER (WHERE outcome = 'timed-out' OR duration_ms > budget_ms)::int AS misses
    FROM turn_log
   WHERE at >= to_timestamp(floor(extract(epoch FROM now()) / $3) * $3) - make_interval(secs => $1)
     AND ($2::varchar IS NULL OR intent = $2)
   GROUP BY ${groupBy}`;

const expectWithinBound = (estimate: number, exact: number) =>
  expect(Math.abs(estimate - exact)).toBeLessThanOrEqual(exact * PERCENTILE_RELATIVE_ERROR);

describe("intent statistics from the turn log's per-minute rollup (PostgreSQL, no Nest)", () => {
  let db: MediumDatabase;
  let stats: IntentStats;
  let writer: TurnLogWriter;

  beforeAll(async () => {
    db = await mediumDatabase();
    stats = new IntentStats(db.pool);
    const here = replica(db);
    writer = here.writer;
    const record = (fields: Parameters<typeof turn>[0]) => here.journal.record(turn(fields));
    const secondsAgo = (seconds: number) => Date.now() - seconds * 1000;
    // GetAccountBalance: 100 turns of 1..100 ms in the last 10 minutes; 2 failed, one took 4600 ms of a 4500 budget.
    for (let n = 1; n <= 100; n++) {
      record({
        at: secondsAgo(n * 5),
        platform: 'dialogflow-es',
        intent: 'GetAccountBalance',
        outcome: n <= 2 ? 'failed' : 'fulfilled',
        durationMs: n === 100 ? 4600 : n,
        budgetMs: 4500,
      });
    }
    // GetAccountBalance on Rasa too: 5 turns of 2000 ms (its own budget, 7000 ms) in the last 10 minutes.
    for (let n = 1; n <= 5; n++) {
      record({
        at: secondsAgo(n * 5),
        platform: 'rasa',
        intent: 'GetAccountBalance',
        durationMs: 2000,
        budgetMs: 7000,
      });
    }
    // TransferFunds: 10 turns two hours ago (outside the hour, inside the day), one timed out.
    for (let n = 1; n <= 10; n++) {
      record({
        at: secondsAgo(7200),
        platform: 'lex-v2',
        intent: 'TransferFunds',
        outcome: n === 1 ? 'timed-out' : 'fulfilled',
        durationMs: 100,
        budgetMs: 3500,
      });
    }
    // CheckOrderStatus: 4000 turns over the last 50 minutes, most quick, a slow tail past the budget, some errors.
    const next = randomSource(42);
    for (let n = 0; n < 4000; n++) {
      const slow = next() < 0.04;
      record({
        at: secondsAgo(30 + next() * 3000),
        platform: 'generic',
        intent: 'CheckOrderStatus',
        outcome: next() < 0.03 ? 'degraded' : next() < 0.01 ? 'timed-out' : 'fulfilled',
        durationMs: slow ? 800 + 6000 * next() : 15 + 120 * next() ** 2,
        budgetMs: 5000,
      });
    }
    await writer.flush();
  });
  afterAll(() => db.close());

  it('gives the turn log’s counts, error and deadline-miss ratios and budgets, and p50/p95/p99 within 9 %, per intent over the last hour', async () => {
    const summary = await stats.summary('1h');
    const exact = await db.query<Exact>(EXACT('platform, intent'), [3600, null, 60]);
    expect(summary.map((row) => [row.platform, row.intent, row.turns])).toEqual([
      ['generic', 'CheckOrderStatus', 4000],
      ['dialogflow-es', 'GetAccountBalance', 100],
      ['rasa', 'GetAccountBalance', 5],
    ]);
    for (const row of summary) {
      const truth = exact.find((candidate) => candidate.platform === row.platform && candidate.intent === row.intent)!;
      expect(row).toMatchObject({
        turns: truth.turns,
        budgetMs: truth.budget,
        errorRatio: truth.errors / truth.turns,
        deadlineMissRatio: truth.misses / truth.turns,
      });
      expectWithinBound(row.p50Ms, truth.p50);
      expectWithinBound(row.p95Ms, truth.p95);
      expectWithinBound(row.p99Ms, truth.p99);
    }
    const balance = summary[1];
    expect(balance).toMatchObject({ budgetMs: 4500, errorRatio: 0.02, deadlineMissRatio: 0.01 });
    expect(balance.p99Ms).toBeGreaterThan(95);
    // The hour and the current minute so far: between 60 and 61 minutes.
    expect(balance.turnsPerMinute).toBeGreaterThan(100 / 61);
    expect(balance.turnsPerMinute).toBeLessThanOrEqual(100 / 60);
    expect(summary[2]).toMatchObject({ p50Ms: 2000, p95Ms: 2000, p99Ms: 2000 });
  });

  it('takes in the older turns over a day', async () => {
    const day = await stats.summary('24h');
    expect(day.map((row) => [row.intent, row.turns])).toEqual([
      ['CheckOrderStatus', 4000],
      ['GetAccountBalance', 100],
      ['TransferFunds', 10],
      ['GetAccountBalance', 5],
    ]);
    expect(day[2]).toMatchObject({ errorRatio: 0.1, deadlineMissRatio: 0.1, budgetMs: 3500, p50Ms: 100 });
  });

  it("puts an intent's turns into minute buckets over an hour, oldest first, each as the turn log has it", async () => {
    const buckets = await stats.series('CheckOrderStatus', '1h', 'generic');
    const exact = await db.query<Exact & { at: Date }>(EXACT(`date_trunc('minute', at) AS at`, '1'), [
      3600,
      'CheckOrderStatus',
      60,
    ]);
    expect(buckets.map((bucket) => bucket.at.getTime())).toEqual(
      exact.map((row) => row.at.getTime()).sort((a, b) => a - b),
    );
    for (const bucket of buckets) {
      const truth = exact.find((row) => row.at.getTime() === bucket.at.getTime())!;
      expect(bucket).toMatchObject({ turns: truth.turns, errors: truth.errors, deadlineMisses: truth.misses });
      expectWithinBound(bucket.p50Ms, truth.p50);
      expectWithinBound(bucket.p95Ms, truth.p95);
      expectWithinBound(bucket.p99Ms, truth.p99);
    }
    expect(buckets.every((bucket) => bucket.at.getTime() % 60_000 === 0)).toBe(true);
    expect(await stats.series('NoSuchIntent', '1h')).toEqual([]);
  });

  it('puts them into 15-minute buckets over a day', async () => {
    const buckets = await stats.series('GetAccountBalance', '24h', 'dialogflow-es');
    expect(buckets.every((bucket) => bucket.at.getTime() % 900_000 === 0)).toBe(true);
    expect(buckets.reduce((sum, bucket) => sum + bucket.turns, 0)).toBe(100);
    expect(buckets.reduce((sum, bucket) => sum + bucket.errors, 0)).toBe(2);
    expect(buckets.reduce((sum, bucket) => sum + bucket.deadlineMisses, 0)).toBe(1);
  });

  it("keeps each platform's turns of an intent apart when asked, and adds them up when not", async () => {
    const sum = (buckets: { turns: number }[]) => buckets.reduce((total, bucket) => total + bucket.turns, 0);
    expect(sum(await stats.series('GetAccountBalance', '1h', 'rasa'))).toBe(5);
    expect(Math.max(...(await stats.series('GetAccountBalance', '1h', 'rasa')).map((b) => b.p50Ms))).toBe(2000);
    expect(sum(await stats.series('GetAccountBalance', '1h'))).toBe(105);
  });
});

describe('the rollup as the turn log writers keep it (PostgreSQL, no Nest)', () => {
  let db: MediumDatabase;
  const writers: TurnLogWriter[] = [];

  beforeEach(async () => (db = await mediumDatabase()));
  afterEach(async () => {
    for (const writer of writers.splice(0)) await writer.beforeApplicationShutdown();
    await db.close();
  });

  const start = () => {
    const started = replica(db);
    writers.push(started.writer);
    return started;
  };

  type RollupRow = {
    span_seconds: number;
    starts_at: Date;
    platform: string;
    intent: string;
    turns: number;
    errors: number;
    deadline_misses: number;
    budget_max_ms: number;
    duration_min_ms: number;
    duration_max_ms: number;
    latency: number[];
  };
  const rollup = () =>
    db.query<RollupRow>('SELECT * FROM turn_log_rollup ORDER BY span_seconds, starts_at, platform, intent');
  const turnsIn = (rows: RollupRow[], spanSeconds: number) =>
    rows.filter((row) => row.span_seconds === spanSeconds).reduce((sum, row) => sum + row.turns, 0);

  it("adds two replicas' batches of the same periods together, bucket by bucket", async () => {
    const replicas = [start(), start()];
    const startedAt = Date.now() - 1_800_000;
    const expected = new Map<string, { turns: number; errors: number; latency: number[] }>();
    const next = randomSource(5);
    for (let n = 0; n < 2 * 2500; n++) {
      const fields = {
        at: startedAt + Math.floor(next() * 1_200_000),
        platform: 'generic' as const,
        intent: next() < 0.5 ? 'A' : 'B',
        outcome: next() < 0.1 ? 'failed' : 'fulfilled',
        durationMs: 1 + 3000 * next() ** 3,
        budgetMs: 5000,
      };
      // Each replica writes in batches of 1000: every period gets several batches from each.
      replicas[n % 2].journal.record(turn(fields));
      for (const span of [60, 900]) {
        const key = `${span}/${Math.floor(fields.at / (span * 1000)) * span * 1000}/${fields.intent}`;
        const figures = expected.get(key) ?? {
          turns: 0,
          errors: 0,
          latency: new Array<number>(LATENCY_BUCKETS).fill(0),
        };
        figures.turns++;
        if (fields.outcome === 'failed') figures.errors++;
        figures.latency[latencyBucket(Math.fround(fields.durationMs))]++;
        expected.set(key, figures);
      }
    }
    await Promise.all(replicas.map(({ writer }) => writer.flush()));

    const rows = await rollup();
    expect(
      new Map(
        rows.map((row) => [
          `${row.span_seconds}/${row.starts_at.getTime()}/${row.intent}`,
          { turns: row.turns, errors: row.errors, latency: row.latency },
        ]),
      ),
    ).toEqual(expected);
    expect([turnsIn(rows, 60), turnsIn(rows, 900)]).toEqual([5000, 5000]);
  });

  it('writes a batch to the turn log and the rollup together, or to neither (kept to be written again)', async () => {
    const { journal, writer } = start();
    await db.query('ALTER TABLE turn_log_rollup RENAME TO turn_log_rollup_away');
    for (let n = 0; n < 5; n++) journal.record(turn({ platform: 'rasa', intent: 'A', durationMs: 10, budgetMs: 7000 }));
    await writer.flush();
    expect(await db.query('SELECT id FROM turn_log')).toEqual([]);
    await db.query('ALTER TABLE turn_log_rollup_away RENAME TO turn_log_rollup');
    await writer.flush();
    await writer.flush();
    expect(await db.query('SELECT id FROM turn_log')).toHaveLength(5);
    const rows = await rollup();
    expect([turnsIn(rows, 60), turnsIn(rows, 900)]).toEqual([5, 5]);
  });

  it("rolls up the turn log's last day when the table is made, as the writer does (the migration's backfill)", async () => {
    const { journal, writer } = start();
    const next = randomSource(9);
    for (let n = 0; n < 3000; n++) {
      journal.record(
        turn({
          at: Date.now() - Math.floor(next() * 23 * 3_600_000),
          platform: next() < 0.5 ? 'rasa' : 'lex-v2',
          intent: `Intent${Math.floor(next() * 4)}`,
          outcome: ['fulfilled', 'failed', 'timed-out', 'busy', 'fallback'][Math.floor(next() * 5)],
          // Also the bounds of buckets, and beyond the last one.
          durationMs: next() < 0.1 ? [0.25, 1, 2, 8, 1000, 70_000][n % 6] : 0.1 + 8000 * next() ** 4,
          budgetMs: 3500,
        }),
      );
    }
    // Two days ago: not rolled up again (the console shows a day at most).
    journal.record(
      turn({ at: Date.now() - 48 * 3_600_000, platform: 'rasa', intent: 'Old', durationMs: 5, budgetMs: 1 }),
    );
    await writer.flush();
    const written = await rollup();
    expect([turnsIn(written, 60), turnsIn(written, 900)]).toEqual([3001, 3001]);

    const session = new Client({ connectionString: db.database.url });
    await session.connect();
    try {
      const runner = {
        query: async (text: string, params?: unknown[]) =>
          (await session.query<Record<string, unknown>>(text, params)).rows,
      } as unknown as QueryRunner;
      const migration = new TurnLogRollup1796700000000();
      await session.query('BEGIN');
      await migration.down(runner);
      await migration.up(runner);
      await session.query('COMMIT');
    } finally {
      await session.end();
    }
    expect(await rollup()).toEqual(written.filter((row) => row.intent !== 'Old'));
  });

  it('purges the periods past the retention once their turns are gone, in bounded batches', async () => {
    const { journal, writer } = start();
    const old = Date.now() - 80 * 3_600_000;
    for (const intent of ['A', 'B', 'C']) {
      journal.record(turn({ at: old, platform: 'generic', intent, durationMs: 5, budgetMs: 5000 }));
    }
    journal.record(turn({ platform: 'generic', intent: 'A', durationMs: 5, budgetMs: 5000 }));
    await writer.flush();
    expect(await rollup()).toHaveLength(8);
    // Three old turns, then their six periods (a minute and a quarter each): never more than the limit at once.
    expect(await writer.purgeExpired(4)).toBe(4);
    expect(await writer.purgeExpired(4)).toBe(4);
    expect(await writer.purgeExpired(4)).toBe(1);
    expect(await writer.purgeExpired(4)).toBe(0);
    expect((await rollup()).map((row) => [row.span_seconds, row.intent, row.turns])).toEqual([
      [60, 'A', 1],
      [900, 'A', 1],
    ]);
    expect(await db.query('SELECT id FROM turn_log')).toHaveLength(1);
  });
});
