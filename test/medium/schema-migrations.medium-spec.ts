import { Client } from 'pg';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { loadConfig } from '../../src/config';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import { PgPools } from '../../src/database/pg-pools';
import {
  acquireMigrationLock,
  MIGRATION_LOCK,
  migrateSchema,
  revertLastMigration,
} from '../../src/database/schema-migrations';
import { eventually } from '../support/eventually';
import { createEmptyTestDatabase, type TestDatabase } from '../support/test-database';

/** A migration longer than the turns' statement_timeout (100 ms) and their read timeout (2.1 s) both. */
class SlowMigration1700000000000 implements MigrationInterface {
  name = 'SlowMigration1700000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query('CREATE TABLE slow_rows (id int PRIMARY KEY)');
    await runner.query('SELECT pg_sleep(2.5)');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('SELECT pg_sleep(2.5)');
    await runner.query('DROP TABLE slow_rows');
  }
}

const LIMITS = { statementTimeoutMs: 30_000, lockTimeoutMs: 500 };

describe('migrations run under their own limits, on the service pool (real PostgreSQL)', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  const said: string[] = [];

  beforeAll(async () => {
    database = await createEmptyTestDatabase();
    const config = loadConfig(
      { DATABASE_URL: database.url, DB_STATEMENT_TIMEOUT_MS: '100', DB_POOL_SIZE: '1', NODE_ENV: 'test' },
      '/srv',
    );
    // The service's own pool and guarded client (one connection: the migrating one is the one turns use after).
    dataSource = new DataSource({
      ...buildDataSourceOptions({ ...config.database, url: database.url }),
      migrations: [SlowMigration1700000000000],
      driver: new PgPools(config).driver(),
    });
    await dataSource.initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  const settings = async (): Promise<{ statement: string; lock: string }> =>
    (
      await dataSource.query<{ statement: string; lock: string }[]>(
        `SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock`,
      )
    )[0];

  it('applies and reverts a migration longer than the statement and read timeouts of turns', async () => {
    // Before, the migration ran under the turns' 100 ms statement_timeout, and the client gave up at 2.1 s.
    expect((await migrateSchema(dataSource, LIMITS, (message) => said.push(message))).map((m) => m.name)).toEqual([
      'SlowMigration1700000000000',
    ]);
    await revertLastMigration(dataSource, LIMITS, (message) => said.push(message));
    const [{ present }] = await dataSource.query<{ present: boolean }[]>(
      "SELECT to_regclass('slow_rows') IS NOT NULL AS present",
    );
    expect(present).toBe(false);
    expect(said).toEqual([]);
  });

  it('closes the connection that migrated: the next one has the turns limits', async () => {
    const backend = async (): Promise<number> =>
      (await dataSource.query<{ pid: number }[]>('SELECT pg_backend_pid() AS pid'))[0].pid;
    // A pool of one: the migrations take the connection the turns had.
    const before = await backend();
    await migrateSchema(dataSource, LIMITS, () => undefined);
    const after = await backend();
    expect(after).not.toBe(before);
    // Its backend ends once PostgreSQL has read the goodbye, a moment after the pool let it go.
    await eventually(async () => {
      const [{ open }] = await dataSource.query<{ open: boolean }[]>(
        'SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1) AS open',
        [before],
      );
      expect(open).toBe(false);
    });
    expect(await settings()).toEqual({ statement: '100ms', lock: '0' });
    await expect(dataSource.query('SELECT pg_sleep(0.5)')).rejects.toThrow(/statement timeout/);
  });
});

describe('waiting for the migration lock (real PostgreSQL)', () => {
  let database: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await createEmptyTestDatabase();
    dataSource = await new DataSource({ type: 'postgres', url: database.url }).initialize();
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  it('gives up, naming the backend, when the holder does nothing (its process gone, its session left open)', async () => {
    // A session that took the lock and then went quiet, as one whose process died without closing it does.
    const holder = new Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      const [{ pid }] = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
      const runner = dataSource.createQueryRunner();
      const said: string[] = [];
      try {
        await expect(acquireMigrationLock(runner, (message) => said.push(message), 1_000)).rejects.toThrow(
          new RegExp(`held by PostgreSQL backend ${pid}, which has done nothing for \\d+ s`),
        );
        expect(said).toEqual([
          `Waiting for another process (PostgreSQL backend ${pid}) to finish migrating the schema`,
        ]);
      } finally {
        await runner.release();
      }
    } finally {
      await holder.end();
    }
  });

  it('waits for a holder that is working, and takes the lock once it is released', async () => {
    const holder = new Client({ connectionString: database.url });
    await holder.connect();
    const runner = dataSource.createQueryRunner();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      const [{ pid }] = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
      // Busy the whole time: a long statement, as a migration building an index is.
      const working = holder.query('SELECT pg_sleep(2), pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      // Under way on the server before the wait starts: on a slow machine the statement could otherwise reach
      // PostgreSQL after the holder had been idle for the second that counts as stuck.
      await eventually(
        async () => {
          const rows: { state: string }[] = await dataSource.query(
            'SELECT state FROM pg_stat_activity WHERE pid = $1',
            [pid],
          );
          expect(rows[0]?.state).toBe('active');
        },
        2_000,
        10,
      );
      const waited = await acquireMigrationLock(runner, () => undefined, 1_000);
      await working;
      expect(waited).toBeGreaterThan(0);
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    } finally {
      await runner.release();
      await holder.end();
    }
  });
});
