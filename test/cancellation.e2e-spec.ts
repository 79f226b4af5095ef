import { Module } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Retention } from '../src/async/retention';
import { DatabaseModule } from '../src/database/database.module';
import { DatabasePool } from '../src/database/database-pool';
import { sql } from '../src/database/sql';
import { FulfillmentHandler, FulfillmentRequest, FulfillmentResult, IntentHandler } from '../src/fulfillment';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { untilDefined } from './support/eventually';
import { queryTestDatabase } from './support/test-database';
import { startTestApp, TestApp } from './support/test-app';

const SLEEP = sql<{ slept: '' }, []>('test_sleep', 'SELECT pg_sleep(10)::text AS slept');
const ONE = sql<{ one: number }, []>('test_one', 'SELECT 1 AS one');

/** A slow query that honours the handler's signal, as the built-in repositories do. */
@IntentHandler('TestSlowQuery')
class SlowQueryHandler implements FulfillmentHandler {
  constructor(private readonly pool: DatabasePool) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    await this.pool.run(SLEEP, [], request.signal);
    return { text: 'slept' };
  }
}

@Module({ imports: [DatabaseModule], providers: [SlowQueryHandler] })
class SlowQueryModule {}

describe('abandoned work stops, in the database too (real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: { GENERIC_DEADLINE_MS: '200', LATE_WORK_TIMEOUT_MS: '2000', DB_STATEMENT_TIMEOUT_MS: '30000' },
      imports: [SlowQueryModule],
    });
  });
  afterAll(() => t.close());

  const activeSleeps = async () =>
    (
      await queryTestDatabase<{ n: string }>(
        t.database.url,
        `SELECT count(*) AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(10)::text AS slept' AND state = 'active'`,
      )
    )[0]?.n;

  it('an aborted signal cancels the running statement on the server and rejects with its reason', async () => {
    const pool = t.app.get(DatabasePool);
    await expect(pool.run(SLEEP, [], AbortSignal.timeout(200))).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(await activeSleeps()).toBe('0');
    // The connection went back to the pool in working order.
    expect(await pool.run(ONE, [], new AbortController().signal)).toEqual([{ one: 1 }]);
  });

  it('a signal aborted before the call sends nothing', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(t.app.get(DatabasePool).run(ONE, [], controller.signal)).rejects.toThrow('gone');
  });

  it('late work past LATE_WORK_TIMEOUT_MS is cancelled in PostgreSQL and its kept result becomes failed', async () => {
    const response = await fetch(`${t.baseUrl}/v1/webhooks/generic`, {
      method: 'POST',
      headers: { ...LOCAL_DEV_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ requestId: randomUUID(), sessionId: 'sleepy', intent: 'TestSlowQuery' }),
    });
    const reply = (await response.json()) as { outcome: string; sessionParameters: { pendingFulfillmentId: string } };
    expect(reply.outcome).toBe('timed-out');
    const id = reply.sessionParameters.pendingFulfillmentId;
    // Still running on the server after the reply (for LATE_WORK_TIMEOUT_MS more), then cancelled there.
    expect(await activeSleeps()).toBe('1');

    const finished = await untilDefined(async () => {
      const polled = await fetch(`${t.baseUrl}/v1/fulfillments/${id}`, { headers: LOCAL_DEV_AUTH });
      const json = (await polled.json()) as { status: string; result: { failed?: boolean } };
      return json.status === 'running' ? undefined : json;
    });
    expect(finished).toMatchObject({ status: 'failed', result: { failed: true } });
    expect(await activeSleeps()).toBe('0');
  });

  it('work that can no longer finish (its replica died) is recorded as failed by retention', async () => {
    const stale = randomUUID();
    const fresh = randomUUID();
    await queryTestDatabase(
      t.database.url,
      `INSERT INTO fulfillments (id, caller_id, platform, session_id, intent, mode, status, created_at, expires_at)
       VALUES ($1, 'local-dev', 'generic', 's', 'RequestStatement', 'async', 'running', now() - interval '2 days',
               now() + interval '1 day'),
              ($2, 'local-dev', 'generic', 's', 'RequestStatement', 'async', 'running', now(), now() + interval '1 day')`,
      [stale, fresh],
    );
    expect(await t.app.get(Retention).failAbandoned()).toEqual([stale]);
    const rows = await queryTestDatabase<{ id: string; status: string }>(
      t.database.url,
      `SELECT id, status FROM fulfillments WHERE id IN ($1, $2)`,
      [stale, fresh],
    );
    expect(Object.fromEntries(rows.map((row) => [row.id, row.status]))).toEqual({
      [stale]: 'failed',
      [fresh]: 'running',
    });
  });
});

describe('a statement whose signal aborts while it waits for a connection never runs (real PostgreSQL)', () => {
  let t: TestApp;
  const PROBE = sql<never, []>('test_abort_probe', 'INSERT INTO abort_probe VALUES (1)');

  beforeAll(async () => {
    t = await startTestApp({ env: { DB_POOL_SIZE: '2', DB_POOL_INTENT_SHARE_PERCENT: '100' } });
    await queryTestDatabase(t.database.url, 'CREATE TABLE abort_probe (n int)');
  });
  afterAll(() => t.close());

  const sleeping = async () =>
    (
      await queryTestDatabase<{ n: string }>(
        t.database.url,
        `SELECT count(*) AS n FROM pg_stat_activity
          WHERE query = 'SELECT pg_sleep(10)::text AS slept' AND state = 'active' AND datname = current_database()`,
      )
    )[0].n;

  it('gives the connection back and throws the reason, writing nothing once a connection frees', async () => {
    const pool = t.app.get(DatabasePool);
    const holders = new AbortController();
    const held = [1, 2].map(() => pool.run(SLEEP, [], holders.signal).catch(() => undefined));
    await untilDefined(async () => ((await sleeping()) === '2' ? true : undefined));
    const waiting = new AbortController();
    const probe = pool.run(PROBE, [], waiting.signal);
    waiting.abort(new Error('the turn is gone'));
    // A connection frees only now: before, the probe then ran, its abort unheard.
    holders.abort(new Error('done holding'));
    await expect(probe).rejects.toThrow('the turn is gone');
    await Promise.all(held);
    expect(await queryTestDatabase(t.database.url, 'SELECT n FROM abort_probe')).toEqual([]);
    // Both connections came back: two statements hold them at once again.
    const again = new AbortController();
    const heldAgain = [1, 2].map(() => pool.run(SLEEP, [], again.signal).catch(() => undefined));
    await untilDefined(async () => ((await sleeping()) === '2' ? true : undefined));
    again.abort(new Error('done'));
    await Promise.all(heldAgain);
  });
});
