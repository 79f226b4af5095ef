import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../src/database/data-source-options';
import { cleanEnv } from './support/service-process';
import { createEmptyTestDatabase, createTestDatabase, queryTestDatabase, TestDatabase } from './support/test-database';

const CLI = join(__dirname, '..', 'dist', 'cli', 'database.cli.js');
/** A folder of its own: a command that went wrong (a migration generated) writes there, not into the sources. */
const WORKDIR = mkdtempSync(join(tmpdir(), 'wf-database-cli-'));
afterAll(() => rmSync(WORKDIR, { recursive: true, force: true }));
const run = (database: TestDatabase, command: string, ...args: string[]) =>
  promisify(execFile)(process.execPath, [CLI, command, ...args], {
    cwd: WORKDIR,
    env: cleanEnv({ DATABASE_URL: database.url }),
  });
const runIn = (env: Record<string, string>, ...args: string[]) =>
  promisify(execFile)(process.execPath, [CLI, ...args], { cwd: WORKDIR, env: cleanEnv(env) });

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
    // It says which one: nothing else names it (TypeORM's own lines are not on standard output).
    expect((await run(database, 'revert')).stdout).toBe(`Reverted migration ${newest}\n`);
    expect(await last()).not.toBe(newest);
    // A deploy gate: pending migrations exit 3 (an error is 1), naming them.
    await expect(run(database, 'show')).rejects.toMatchObject({
      code: 3,
      stdout: expect.stringContaining(`1 pending migration(s):\n  ${newest}\n`),
    });

    // Generating against a schema behind its migrations would write their tables all over again.
    await expect(run(database, 'generate', 'AddNothing')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining(`1 migration(s) pending (${newest}): run npm run migration:run first`),
    });

    const applied = await run(database, 'migrate');
    expect(applied.stdout).toContain(`Applied 1 migration(s)\n  ${newest}`);
    expect(await last()).toBe(newest);
    expect((await run(database, 'show')).stdout).toContain('The schema is up to date.');
  });

  it('rejects an unknown command with its usage', async () => {
    await expect(run(database, 'drop-everything')).rejects.toMatchObject({ code: 2 });
    await expect(run(database, 'show', '--check')).rejects.toMatchObject({ code: 2 });
  });

  it('show reads without DDL: on an empty database it names every migration and creates nothing', async () => {
    const empty = await createEmptyTestDatabase();
    try {
      const shown = run(empty, 'show');
      await expect(shown).rejects.toMatchObject({ code: 3 });
      const tables = await queryTestDatabase<{ present: boolean }>(
        empty.url,
        `SELECT to_regclass('typeorm_migrations') IS NOT NULL AS present`,
      );
      expect(tables).toEqual([{ present: false }]);
    } finally {
      await empty.drop();
    }
  });

  it('in production, refuses seed (demo customers) and wants --yes for revert, changing nothing', async () => {
    const production = { DATABASE_URL: database.url, NODE_ENV: 'production' };
    await expect(runIn(production, 'seed')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('NODE_ENV=production'),
    });
    const before = await queryTestDatabase(database.url, 'SELECT name FROM typeorm_migrations ORDER BY id');
    await expect(runIn(production, 'revert')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--yes'),
    });
    expect(await queryTestDatabase(database.url, 'SELECT name FROM typeorm_migrations ORDER BY id')).toEqual(before);
  });
});
