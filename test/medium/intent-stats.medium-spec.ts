import { IntentStats } from '../../src/console/turn-log/intent-stats';
import { mediumDatabase, MediumDatabase } from './support/medium-database';

describe('intent statistics from the turn log (PostgreSQL, no Nest)', () => {
  let db: MediumDatabase;
  let stats: IntentStats;

  beforeAll(async () => {
    db = await mediumDatabase();
    stats = new IntentStats(db.pool);
    // GetAccountBalance: 100 turns of 1..100 ms in the last 10 minutes; 2 failed, one took 4600 ms of a 4500 budget.
    await db.query(
      `INSERT INTO turn_log (at, request_id, platform, intent, caller_id, outcome, duration_ms, budget_ms)
       SELECT now() - make_interval(secs => n * 5), 'b-' || n, 'dialogflow-es', 'GetAccountBalance', 'bot',
              CASE WHEN n <= 2 THEN 'failed' ELSE 'fulfilled' END,
              CASE WHEN n = 100 THEN 4600 ELSE n END, 4500
         FROM generate_series(1, 100) AS n`,
    );
    // GetAccountBalance on Rasa too: 5 turns of 2000 ms (its own budget, 7000 ms) in the last 10 minutes.
    await db.query(
      `INSERT INTO turn_log (at, request_id, platform, intent, caller_id, outcome, duration_ms, budget_ms)
       SELECT now() - make_interval(secs => n * 5), 'r-' || n, 'rasa', 'GetAccountBalance', 'bot', 'fulfilled', 2000, 7000
         FROM generate_series(1, 5) AS n`,
    );
    // TransferFunds: 10 turns two hours ago (outside the hour, inside the day), one timed out.
    await db.query(
      `INSERT INTO turn_log (at, request_id, platform, intent, caller_id, outcome, duration_ms, budget_ms)
       SELECT now() - interval '2 hours', 't-' || n, 'lex-v2', 'TransferFunds', 'bot',
              CASE WHEN n = 1 THEN 'timed-out' ELSE 'fulfilled' END, 100, 3500
         FROM generate_series(1, 10) AS n`,
    );
  });
  afterAll(() => db.close());

  it('gives percentiles, error and deadline-miss ratios and volume per intent over the last hour', async () => {
    const [balance, ...others] = await stats.summary('1h');
    expect(others.map((row) => [row.platform, row.intent, row.turns, row.budgetMs])).toEqual([
      ['rasa', 'GetAccountBalance', 5, 7000],
    ]);
    expect(balance).toMatchObject({
      platform: 'dialogflow-es',
      intent: 'GetAccountBalance',
      turns: 100,
      budgetMs: 4500,
      errorRatio: 0.02,
      deadlineMissRatio: 0.01,
    });
    expect(balance.p50Ms).toBeCloseTo(50.5, 1);
    expect(balance.p95Ms).toBeCloseTo(95.05, 1);
    expect(balance.p99Ms).toBeGreaterThan(99);
    expect(balance.turnsPerMinute).toBeCloseTo(100 / 60, 3);
  });

  it('takes in the older turns over a day', async () => {
    const day = await stats.summary('24h');
    expect(day.map((row) => [row.intent, row.turns])).toEqual([
      ['GetAccountBalance', 100],
      ['TransferFunds', 10],
      ['GetAccountBalance', 5],
    ]);
    expect(day[1]).toMatchObject({ errorRatio: 0.1, deadlineMissRatio: 0.1, budgetMs: 3500 });
  });

  it("puts an intent's turns into minute buckets over an hour, oldest first", async () => {
    const buckets = await stats.series('GetAccountBalance', '1h', 'dialogflow-es');
    expect(buckets.reduce((sum, bucket) => sum + bucket.turns, 0)).toBe(100);
    expect(buckets.reduce((sum, bucket) => sum + bucket.errors, 0)).toBe(2);
    expect(buckets.reduce((sum, bucket) => sum + bucket.deadlineMisses, 0)).toBe(1);
    for (let i = 1; i < buckets.length; i++) {
      expect(buckets[i].at.getTime() - buckets[i - 1].at.getTime()).toBeGreaterThanOrEqual(60_000);
    }
    expect(buckets.every((bucket) => bucket.at.getTime() % 60_000 === 0)).toBe(true);
    expect(await stats.series('NoSuchIntent', '1h')).toEqual([]);
  });

  it("keeps each platform's turns of an intent apart when asked, and adds them up when not", async () => {
    const sum = (buckets: { turns: number }[]) => buckets.reduce((total, bucket) => total + bucket.turns, 0);
    expect(sum(await stats.series('GetAccountBalance', '1h', 'rasa'))).toBe(5);
    expect(Math.max(...(await stats.series('GetAccountBalance', '1h', 'rasa')).map((b) => b.p50Ms))).toBe(2000);
    expect(sum(await stats.series('GetAccountBalance', '1h'))).toBe(105);
  });
});
