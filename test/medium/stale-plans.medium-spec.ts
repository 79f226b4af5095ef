import type { Pool } from 'pg';
import { DatabasePool } from '../../src/database/database-pool';
import { PgPools } from '../../src/database/pg-pools';
import { sql } from '../../src/database/sql';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { testPool } from './support/test-pool';

const READ = sql<{ v: string }, []>('test_stale_read', 'SELECT v, pg_sleep(0.05)::text AS slept FROM stale_rows');

/**
 * A migration that changes the type of a column a prepared statement returns (widening a varchar, as
 * SessionIdLength and CaptureCreatorLength did) while pods serve: every connection that had prepared the
 * statement refused it ever after (0A000 "cached plan must not change result type"), failing turns until the
 * connection was recycled. Such a connection is now dropped and the statement runs on another. Real PostgreSQL,
 * the statement prepared on both connections of the pool before the ALTER.
 */
describe('statements prepared before a migration changed their result type (real PostgreSQL)', () => {
  let database: TestDatabase;
  let pg: Pool;
  let pool: DatabasePool;

  beforeAll(async () => {
    database = await createTestDatabase();
    pg = testPool({ connectionString: database.url, max: 2 });
    pool = new DatabasePool(PgPools.of(pg));
    await pg.query(`CREATE TABLE stale_rows (v varchar(10)); INSERT INTO stale_rows VALUES ('kept')`);
  });
  afterAll(async () => {
    await pg.end();
    await database.drop();
  });

  async function prepareOnEveryConnection(): Promise<void> {
    await Promise.all([pool.run(READ, []), pool.run(READ, [], new AbortController().signal)]);
    expect(pg.totalCount).toBe(2);
  }

  it('runs the statement again on a fresh connection, with or without a signal', async () => {
    await prepareOnEveryConnection();
    await pg.query('ALTER TABLE stale_rows ALTER v TYPE varchar(20)');
    expect(await pool.run(READ, [])).toEqual([{ v: 'kept', slept: '' }]);
    expect(await pool.run(READ, [], new AbortController().signal)).toEqual([{ v: 'kept', slept: '' }]);

    await prepareOnEveryConnection();
    await pg.query('ALTER TABLE stale_rows ALTER v TYPE varchar(30)');
    expect(await pool.run(READ, [], new AbortController().signal)).toEqual([{ v: 'kept', slept: '' }]);
    expect(await pool.run(READ, [])).toEqual([{ v: 'kept', slept: '' }]);
  });

  it('runs a transaction again on a fresh connection: its statements ran before COMMIT, so nothing was written', async () => {
    await prepareOnEveryConnection();
    await pg.query('ALTER TABLE stale_rows ALTER v TYPE varchar(40)');
    let runs = 0;
    const read = await pool.transaction(async (tx) => {
      runs += 1;
      await tx.run(sql('test_stale_insert', `INSERT INTO stale_rows VALUES ('added')`), []);
      return tx.run(READ, []);
    });
    expect(read.map((row) => row.v).sort()).toEqual(['added', 'kept']);
    expect(runs).toBeGreaterThan(1);
    expect((await pg.query(`SELECT count(*)::int AS n FROM stale_rows WHERE v = 'added'`)).rows).toEqual([{ n: 1 }]);
  });
});
