import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { MIGRATIONS } from '../src/database/migrations';
import { MIGRATION_LOCK } from '../src/database/schema-migrations';
import { README_REQUEST, LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { eventually } from './support/eventually';
import { cleanEnv, freePort, killService, ServiceProcess, startService } from './support/service-process';
import { createEmptyTestDatabase, queryTestDatabase, TestDatabase } from './support/test-database';

const CLI = join(__dirname, '..', 'dist', 'cli', 'database.cli.js');
const LISTENING = /Listening on http:\/\//;
const APPLIED = /Applied (\d+) migration\(s\)/;

/** A session of the test's own holding the migration lock, as a migration Job or another replica would. */
async function holdMigrationLock(url: string): Promise<Client> {
  const holder = new Client({ connectionString: url });
  await holder.connect();
  await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  return holder;
}

const appliedMigrations = async (database: TestDatabase) =>
  (await queryTestDatabase<{ name: string }>(database.url, 'SELECT name FROM typeorm_migrations ORDER BY id')).map(
    (row) => row.name,
  );

const schemaExists = async (database: TestDatabase) =>
  (
    await queryTestDatabase<{ exists: boolean }>(
      database.url,
      "SELECT to_regclass('typeorm_migrations') IS NOT NULL AS exists",
    )
  )[0].exists;

describe('migrations at start, one process at a time (real processes, real PostgreSQL)', () => {
  let database: TestDatabase;
  let services: ServiceProcess[] = [];
  let holder: Client | undefined;

  beforeEach(async () => (database = await createEmptyTestDatabase()));
  afterEach(async () => {
    await holder?.end().catch(() => undefined);
    holder = undefined;
    await Promise.all(services.map((service) => killService(service)));
    services = [];
    await database.drop();
  });

  it('replicas starting together on an empty database apply each migration once, without an error line', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    services = ports.map((port) => startService({ PORT: String(port), DATABASE_URL: database.url }));
    await Promise.all(services.map((service) => service.waitFor(LISTENING)));

    // Before, all but one replica met the first one's tables ("relation … already exists", a duplicate key in
    // pg_type) and TypeORM logged "Unable to connect to the database. Retrying" at error, with a stack.
    for (const service of services) {
      expect(service.output()).not.toMatch(/"level":"error"|Retrying|already exists/);
    }
    const applied = services.map((service) => Number(APPLIED.exec(service.output())?.[1] ?? 0));
    expect(applied.reduce((sum, count) => sum + count, 0)).toBe(MIGRATIONS.length);
    expect(await appliedMigrations(database)).toEqual(MIGRATIONS.map((migration) => migration.name));

    const response = await fetch(`http://127.0.0.1:${ports[2]}/v1/webhooks/dialogflow-es`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...LOCAL_DEV_AUTH },
      body: JSON.stringify(README_REQUEST),
    });
    expect(response.status).toBe(200);
  });

  it('a start waits while another process migrates, then applies what is still pending', async () => {
    holder = await holdMigrationLock(database.url);
    const service = startService({ PORT: String(await freePort()), DATABASE_URL: database.url });
    services = [service];
    await service.waitFor(/Waiting for another process \(PostgreSQL backend \d+\) to finish migrating the schema/);
    expect(await schemaExists(database)).toBe(false);

    await holder.end();
    holder = undefined;
    await service.waitFor(LISTENING);
    expect(service.output()).toMatch(/Migration lock taken after \d+ ms; migrating/);
    expect(await appliedMigrations(database)).toEqual(MIGRATIONS.map((migration) => migration.name));
  });

  it('a start without migrations refuses a database that lacks some, and names them; one that has them starts', async () => {
    const cli = (command: string) =>
      promisify(execFile)(process.execPath, [CLI, command], { env: cleanEnv({ DATABASE_URL: database.url }) });
    await cli('migrate');
    await cli('revert');
    await cli('revert');
    const [secondNewest, newest] = MIGRATIONS.slice(-2).map((migration) => migration.name);

    const refused = startService({
      PORT: String(await freePort()),
      DATABASE_URL: database.url,
      DB_MIGRATIONS_RUN: 'false',
    });
    services = [refused];
    expect((await refused.exited).code).toBe(1);
    // Before, it started and then failed wherever it met a missing table, at warn level.
    expect(refused.output()).toContain(
      `Start-up failed: the database lacks 2 migration(s) this release needs (${secondNewest}, ${newest}): run ` +
        "`node dist/cli/database.cli.js migrate` (the chart's migration Job), or start with DB_MIGRATIONS_RUN=true",
    );
    expect(refused.output()).not.toMatch(/"level":"(error|fatal)"|"stack"/);

    await cli('migrate');
    const started = startService({
      PORT: String(await freePort()),
      DATABASE_URL: database.url,
      DB_MIGRATIONS_RUN: 'false',
    });
    services = [started];
    await started.waitFor(LISTENING);
    // Six processes started one after another (three commands, a migration, two services): on a slow machine each
    // takes seconds.
  }, 120_000);

  it('the migrate command waits for the lock too', async () => {
    holder = await holdMigrationLock(database.url);
    const command = spawn(process.execPath, [CLI, 'migrate'], { env: cleanEnv({ DATABASE_URL: database.url }) });
    let output = '';
    command.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    command.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    // 'close', not 'exit': its output is read to the end by then.
    const exited = new Promise<number | null>((resolve) => command.once('close', resolve));
    try {
      await eventually(() => expect(output).toContain('to finish migrating the schema'), 30_000);
      expect(await schemaExists(database)).toBe(false);

      await holder.end();
      holder = undefined;
      expect(await exited).toBe(0);
      expect(output).toContain(`Applied ${MIGRATIONS.length} migration(s)`);
    } finally {
      if (command.exitCode === null) command.kill('SIGKILL');
    }
  });
});
