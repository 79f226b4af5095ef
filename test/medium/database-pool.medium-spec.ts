import type { Pool } from 'pg';
import { Deadline } from '../../src/common/deadline';
import { runInWorkScope } from '../../src/common/work-scope';
import type { AppConfig } from '../../src/config';
import { collectedPoints, metricsForTest } from '../../src/observability/testing/collected-metrics';
import { DatabasePool } from '../../src/database/database-pool';
import { PgPools } from '../../src/database/pg-pools';
import type { SqlStatement } from '../../src/database/sql';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { testPool } from './support/test-pool';

/** A write the server refuses while the session is read-only (SQLSTATE 25006). */
const WRITE: SqlStatement<{ n: number }> = {
  name: 'test_read_only_write',
  text: 'CREATE TEMPORARY TABLE IF NOT EXISTS read_only_probe (n int)',
};
const BACKEND: SqlStatement<{ pid: number }> = { name: 'test_backend_pid', text: 'SELECT pg_backend_pid() AS pid' };

/**
 * A connection whose server refused a write because it takes none (a standby after a failover, a primary set
 * read-only) is destroyed, not reused: the next one is new, and reaches whatever server the address names now with
 * its current settings. Here the refusal is arranged on the one connection of a one-connection pool
 * (`SET SESSION default_transaction_read_only`), so a reused connection would refuse again.
 */
describe('DatabasePool after a write refused by a read-only server (real PostgreSQL)', () => {
  let database: TestDatabase;
  let pg: Pool;
  let pool: DatabasePool;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  beforeEach(() => {
    pg = testPool({ connectionString: database.url, max: 1 });
    pool = new DatabasePool(PgPools.of(pg));
  });
  afterEach(() => pg.end());

  /** The pool's one connection made read-only; its backend's pid. */
  async function readOnlyConnection(): Promise<number> {
    await pg.query('SET SESSION default_transaction_read_only = on');
    const [{ pid }] = await pool.run(BACKEND, []);
    return pid;
  }

  it('in a transaction: the refusal rejects, and the next transaction runs on a new connection', async () => {
    const refusedOn = await readOnlyConnection();
    await expect(pool.transaction((tx) => tx.run(WRITE, []))).rejects.toMatchObject({ code: '25006' });
    await expect(pool.transaction((tx) => tx.run(WRITE, []))).resolves.toEqual([]);
    const [{ pid }] = await pool.run(BACKEND, []);
    expect(pid).not.toBe(refusedOn);
  });

  it("with a handler's abort signal: the same", async () => {
    const refusedOn = await readOnlyConnection();
    const signal = new AbortController().signal;
    await expect(pool.run(WRITE, [], signal)).rejects.toMatchObject({ code: '25006' });
    await expect(pool.run(WRITE, [], signal)).resolves.toEqual([]);
    const [{ pid }] = await pool.run(BACKEND, [], signal);
    expect(pid).not.toBe(refusedOn);
  });

  it('a bad statement leaves the connection in use (only a lost or read-only server replaces it)', async () => {
    const [{ pid: before }] = await pool.run(BACKEND, []);
    const bad: SqlStatement = { name: 'test_bad_statement', text: 'SELECT * FROM no_such_table' };
    await expect(pool.transaction((tx) => tx.run(bad, []))).rejects.toMatchObject({ code: '42P01' });
    const [{ pid: after }] = await pool.run(BACKEND, []);
    expect(after).toBe(before);
  });

  it('the cancel of an aborted statement never reaches the statement that runs next on its connection', async () => {
    const sleep = (seconds: number): SqlStatement => ({
      name: `test_sleep_${String(seconds).replace('.', '_')}`,
      text: `SELECT pg_sleep(${seconds})`,
    });
    const two = testPool({ connectionString: database.url, max: 2 });
    const pool2 = new DatabasePool(PgPools.of(two));
    try {
      const aborted = new AbortController();
      const first = pool2.run(sleep(0.3), [], aborted.signal);
      const second = pool2.run(sleep(1), []);
      // Both connections busy; a third statement waits for one, then the first's turn gives up (its cancel waits
      // for a connection of its own, behind the third).
      await new Promise((resolve) => setTimeout(resolve, 100));
      const third = pool2.run(sleep(1.5), []);
      aborted.abort(new Error('the turn gave up'));
      await Promise.allSettled([first, second]);
      await expect(third).resolves.toEqual([{ pg_sleep: '' }]);
    } finally {
      await two.end();
    }
  });
});

/**
 * `db_pool_wait_seconds` counts every checkout, those that gave up waiting included: observed only when they got a
 * connection, a saturated pool (most turns waiting out their deadline) read as a few short waits, and the
 * slow-checkouts alert could not fire.
 */
describe('PgPools: the pool wait histogram (real PostgreSQL)', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it('observes the checkouts that gave up at their deadline, in their lane', async () => {
    const metrics = metricsForTest();
    const config = { database: { poolSize: 1, poolLaneShare: 1, statementTimeoutMs: 3000 } } as unknown as AppConfig;
    const driver = new PgPools(config, metrics).driver();
    const pool = new driver.Pool({ connectionString: database.url, max: 1 });
    const held = await pool.connect();
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 5 }, () =>
          runInWorkScope({ lane: 'GetAccountBalance', deadline: Deadline.after(300) }, () =>
            pool.query('SELECT 1').then(
              () => 'answered',
              () => 'gave up',
            ),
          ),
        ),
      );
      expect(outcomes).toEqual(Array(5).fill('gave up'));
      const waits = await collectedPoints(metrics, 'db_pool_wait_seconds');
      const lane = waits.find((point) => point.attributes.lane === 'GetAccountBalance');
      const value = lane?.value as { count: number; sum: number } | undefined;
      expect(value?.count).toBe(5);
      // Each waited out most of its 300 ms.
      expect((value?.sum ?? 0) / 5).toBeGreaterThan(0.2);
    } finally {
      held.release();
      await pool.end();
      await metrics.onApplicationShutdown();
    }
  });
});
