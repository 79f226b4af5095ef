import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../src/database/data-source-options';
import { cleanEnv } from './support/service-process';
import { createTestDatabase, queryTestDatabase, TestDatabase } from './support/test-database';

const CLI = join(__dirname, '..', 'dist', 'cli', 'database.cli.js');
const run = (database: TestDatabase, command: string) =>
  promisify(execFile)(process.execPath, [CLI, command], { env: cleanEnv({ DATABASE_URL: database.url }) });

const counts = (database: TestDatabase) =>
  queryTestDatabase<{ customers: string; accounts: string; transactions: string }>(
    database.url,
    `SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM accounts) AS accounts,
            (SELECT count(*) FROM transactions) AS transactions`,
  );

describe('database commands (real PostgreSQL)', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('the entities and the migrations describe the same schema', async () => {
    const dataSource = new DataSource(
      buildDataSourceOptions({ url: database.url, poolSize: 2, statementTimeoutMs: 5000 }),
    );
    await dataSource.initialize();
    try {
      const pending = await dataSource.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((query) => query.query)).toEqual([]);
    } finally {
      await dataSource.destroy();
    }
  });

  it('db:seed is idempotent', async () => {
    const before = await counts(database);
    expect(Number(before[0].customers)).toBeGreaterThan(0);
    const { stdout } = await run(database, 'seed');
    expect(stdout).toContain('Seeded demo data: banking');
    expect(await counts(database)).toEqual(before);
  });

  it('migration:revert undoes the last migration and migration:run brings it back', async () => {
    const last = async () =>
      (
        await queryTestDatabase<{ name: string }>(
          database.url,
          'SELECT name FROM typeorm_migrations ORDER BY id DESC LIMIT 1',
        )
      )[0]?.name;
    const newest = await last();
    await run(database, 'revert');
    expect(await last()).not.toBe(newest);
    const pending = await run(database, 'show');
    expect(pending.stdout).toContain('There are pending migrations.');

    const applied = await run(database, 'migrate');
    expect(applied.stdout).toContain(`Applied 1 migration(s)\n  ${newest}`);
    expect(await last()).toBe(newest);
    expect((await run(database, 'show')).stdout).toContain('The schema is up to date.');
  });

  it('rejects an unknown command with its usage', async () => {
    await expect(run(database, 'drop-everything')).rejects.toMatchObject({ code: 2 });
  });
});
