import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { PgPools } from '../../src/database/pg-pools';
import { ReadReplicas } from '../../src/database/replicas/read-replicas';
import { walPosition } from '../../src/database/replicas/wal-position';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { testPool } from './support/test-pool';

/**
 * The primary position a write's read-your-writes mark is taken from covers the write's commit, also when it
 * committed asynchronously (`synchronous_commit = off`): its commit record may still be in the WAL buffers, past
 * the write position (`pg_current_wal_lsn`), and a replica that had replayed only that far was taken for one that
 * has the write. Real PostgreSQL: each commit's own end, read in its session, against the position read after it.
 */
describe('the primary WAL position after an asynchronous commit (real PostgreSQL)', () => {
  let database: TestDatabase;
  let pg: Pool;

  beforeAll(async () => {
    database = await createTestDatabase();
    pg = testPool({ connectionString: database.url, max: 2 });
  });
  afterAll(async () => {
    await pg.end();
    await database.drop();
  });

  it('is at or after every commit made before it was read', async () => {
    const replicas = new ReadReplicas(loadConfig({ DATABASE_URL: database.url }), PgPools.of(pg));
    const writer = await pg.connect();
    try {
      await writer.query('CREATE TABLE async_commits (n int)');
      await writer.query('SET synchronous_commit = off');
      for (let n = 0; n < 50; n++) {
        await writer.query('INSERT INTO async_commits VALUES ($1)', [n]);
        const { rows } = await writer.query<{ end: string }>('SELECT pg_current_wal_insert_lsn()::text AS end');
        const position = await replicas.primaryPosition();
        expect(walPosition(position) >= walPosition(rows[0].end)).toBe(true);
      }
    } finally {
      writer.release();
    }
  });
});
