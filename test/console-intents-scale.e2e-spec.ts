import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { serviceReadiness } from '../src/app.factory';
import type { Platform } from '../src/common/platform';
import { AppConfig } from '../src/config';
import { type AdminListener, startAdminListener } from '../src/console/admin/admin-app';
import type { IntentBucket, IntentSummary } from '../src/console/turn-log/intent-stats';
import { PERCENTILE_RELATIVE_ERROR } from '../src/console/turn-log/latency-histogram';
import { TurnLogWriter } from '../src/console/turn-log/turn-log.writer';
import { TurnJournal } from '../src/observability/turn-journal';
import { eventually } from './support/eventually';
import { cleanEnv } from './support/service-process';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

const CLI = join(__dirname, '..', 'dist', 'cli', 'database.cli.js');

/** A day of a busy bank's turns (about 17 a second) in the turn log before the release that rolls it up. */
const TURNS_BEFORE = 1_500_000;
/** Turns of the same day the service's own writer writes afterwards, into the same periods. */
const TURNS_AFTER = 20_000;
/**
 * Every statement's limit. The day's figures used to be computed from every turn of the day (three exact
 * percentiles per intent): over this many turns that took seconds here, and the view answered 503.
 */
const STATEMENT_TIMEOUT_MS = 250;
const INTENTS = ['GetAccountBalance', 'TransferFunds', 'ListTransactions', 'CheckOrderStatus', 'BookAppointment'];
const PLATFORMS: readonly Platform[] = ['dialogflow-es', 'dialogflow-cx', 'lex-v2', 'rasa'];
const DAY_MS = 86_400_000;

// A million and a half rows to insert and roll up before the first test, on a shared two-core machine.
jest.setTimeout(300_000);

describe("the console's Intents view over a day of heavy traffic (real HTTP, real PostgreSQL)", () => {
  let t: TestApp;
  let admin: AdminListener;
  let adminUrl: string;

  const database = (...args: string[]) =>
    promisify(execFile)(process.execPath, [CLI, ...args], { env: cleanEnv({ DATABASE_URL: t.database.url }) });
  const turnLogRows = async () =>
    (await queryTestDatabase<{ n: number }>(t.database.url, 'SELECT count(*)::int AS n FROM turn_log'))[0].n;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        ADMIN_PORT: '0',
        TRUSTED_PROXIES: '127.0.0.1/32',
        DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
        TURN_LOG_FLUSH_MS: '60000',
        TURN_LOG_MAX_BUFFERED: '100000',
      },
    });
    admin = await startAdminListener(t.app, t.app.get(AppConfig), serviceReadiness(t.app));
    adminUrl = `http://127.0.0.1:${admin.port}`;

    // The day as a turn log written before the rollup: the migrations down to the rollup's undone (newer ones
    // first), the turns written, and the migrations run again, as an upgrade runs them.
    const rollupApplied = async () =>
      (
        await queryTestDatabase<{ n: number }>(
          t.database.url,
          `SELECT count(*)::int AS n FROM typeorm_migrations WHERE name = 'TurnLogRollup1796700000000'`,
        )
      )[0].n > 0;
    while (await rollupApplied()) await database('revert');
    await queryTestDatabase(
      t.database.url,
      `INSERT INTO turn_log (at, request_id, platform, intent, caller_id, outcome, duration_ms, budget_ms)
       SELECT now() - interval '24 hours' + interval '2 minutes' + (n::float8 / $1) * interval '23 hours 56 minutes',
              'before-' || n, ($2::varchar[])[1 + n % 4], ($3::varchar[])[1 + (n * 7) % 5], 'bot',
              CASE WHEN n % 53 = 0 THEN 'failed' ELSE 'fulfilled' END,
              CASE WHEN n % 37 = 0 THEN 900 + (n * 13) % 4000 ELSE 20 + (n * 31) % 250 + (n % 7) / 10.0 END, 4500
         FROM generate_series(1, $1) AS n`,
      [TURNS_BEFORE, PLATFORMS, INTENTS],
    );
    await database('migrate');

    // Then the service's own writer, in its batches and under its limits.
    const journal = t.app.get(TurnJournal);
    const writer = t.app.get(TurnLogWriter);
    const startedAt = Date.now() - DAY_MS + 180_000;
    for (let n = 0; n < TURNS_AFTER; n++) {
      journal.record({
        at: startedAt + Math.floor((n / TURNS_AFTER) * (DAY_MS - 240_000)),
        requestId: `after-${n}`,
        platform: PLATFORMS[n % PLATFORMS.length],
        intent: INTENTS[(n * 3) % INTENTS.length],
        callerId: 'bot',
        outcome: n % 41 === 0 ? 'timed-out' : 'fulfilled',
        durationMs: n % 29 === 0 ? 3000 + n / 100 : 35 + (n % 300) + (n % 11) / 10,
        budgetMs: 4500,
      });
    }
    // A batch that meets the statement timeout on a busy machine is kept and written again.
    await eventually(async () => {
      await writer.flush();
      expect(await turnLogRows()).toBe(TURNS_BEFORE + TURNS_AFTER);
    }, 60_000);
  });
  afterAll(async () => {
    await admin?.close();
    await t?.close();
  });

  it('answers a day of 1.5 million turns within DB_STATEMENT_TIMEOUT_MS, with the turn log’s counts and p95 within 9 %', async () => {
    const { body } = (await request(adminUrl).get('/api/intents?window=24h').expect(200)) as {
      body: { window: string; intents: IntentSummary[] };
    };
    expect(body.window).toBe('24h');
    expect(body.intents).toHaveLength(INTENTS.length * PLATFORMS.length);
    expect(body.intents.reduce((sum, row) => sum + row.turns, 0)).toBe(TURNS_BEFORE + TURNS_AFTER);

    const exact = await queryTestDatabase<{
      platform: string;
      intent: string;
      turns: number;
      errors: number;
      misses: number;
      p95: number;
    }>(
      t.database.url,
      `SELECT platform, intent, count(*)::int AS turns,
              count(*) FILTER (WHERE outcome IN ('failed', 'timed-out', 'degraded', 'busy', 'error'))::int AS errors,
              count(*) FILTER (WHERE outcome = 'timed-out' OR duration_ms > budget_ms)::int AS misses,
              percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
         FROM turn_log GROUP BY platform, intent`,
    );
    for (const row of body.intents) {
      const truth = exact.find((candidate) => candidate.platform === row.platform && candidate.intent === row.intent)!;
      expect({ turns: row.turns, errorRatio: row.errorRatio, deadlineMissRatio: row.deadlineMissRatio }).toEqual({
        turns: truth.turns,
        errorRatio: truth.errors / truth.turns,
        deadlineMissRatio: truth.misses / truth.turns,
      });
      expect(Math.abs(row.p95Ms - truth.p95)).toBeLessThanOrEqual(truth.p95 * PERCENTILE_RELATIVE_ERROR);
    }
  });

  it("answers an intent's day in quarters of an hour within DB_STATEMENT_TIMEOUT_MS", async () => {
    const { body } = (await request(adminUrl)
      .get('/api/intents/series?intent=TransferFunds&window=24h')
      .expect(200)) as {
      body: { buckets: IntentBucket[] };
    };
    expect(body.buckets.length).toBeGreaterThanOrEqual(96);
    expect(body.buckets.every((bucket) => new Date(bucket.at).getTime() % 900_000 === 0)).toBe(true);
    const [{ turns }] = await queryTestDatabase<{ turns: number }>(
      t.database.url,
      `SELECT count(*)::int AS turns FROM turn_log WHERE intent = 'TransferFunds'`,
    );
    expect(body.buckets.reduce((sum, bucket) => sum + bucket.turns, 0)).toBe(turns);
  });
});
