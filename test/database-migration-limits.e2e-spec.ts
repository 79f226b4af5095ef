import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { MIGRATIONS } from '../src/database/migrations';
import { eventually } from './support/eventually';
import { cleanEnv, freePort, killService, ServiceProcess, startService } from './support/service-process';
import { copyTestDatabase, createEmptyTestDatabase, queryTestDatabase, TestDatabase } from './support/test-database';

const CLI = join(__dirname, '..', 'dist', 'cli', 'database.cli.js');
const LISTENING = /Listening on http:\/\//;
/** The migration these tests hold back: it builds a unique index on fulfillments, a table that fills up. */
const TURN_KEY = 'AsyncTurnKey1796300000000';
/** The migrations from the turn-key one on, reverted and applied again with it. */
const FROM_TURN_KEY = MIGRATIONS.map((migration) => migration.name).slice(
  MIGRATIONS.findIndex((migration) => migration.name === TURN_KEY),
);
const INDEX = 'UQ_fulfillments_caller_key';

// Every test starts real processes (the CLI, the service) and waits on PostgreSQL's locks; a busy two-core CI machine
// takes several times as long as an idle one.
jest.setTimeout(90_000);

interface Command {
  output(): string;
  exited: Promise<number | null>;
  kill(): void;
}

function command(args: string[], env: Record<string, string>): Command {
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(env) });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return {
    output: () => output,
    // 'close', not 'exit': its output is read to the end by then.
    exited: new Promise((resolve) => child.once('close', resolve)),
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

async function run(args: string[], env: Record<string, string>): Promise<string> {
  const cli = command(args, env);
  const code = await cli.exited;
  if (code !== 0) throw new Error(`database.cli ${args.join(' ')} exited ${code}:\n${cli.output()}`);
  return cli.output();
}

const applied = async (database: TestDatabase): Promise<string[]> =>
  (await queryTestDatabase<{ name: string }>(database.url, 'SELECT name FROM typeorm_migrations ORDER BY id')).map(
    (row) => row.name,
  );

/** The index's state: absent, or whether PostgreSQL enforces it. */
async function turnKeyIndex(database: TestDatabase): Promise<'absent' | 'valid' | 'invalid'> {
  const [row] = await queryTestDatabase<{ valid: boolean }>(
    database.url,
    'SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)',
    [`"${INDEX}"`],
  );
  if (!row) return 'absent';
  return row.valid ? 'valid' : 'invalid';
}

/**
 * Migrates `database` up to, not including, the turn-key migration (and whatever came after it): a migrate and a
 * revert per later migration, each a real CLI process. Done once per file; every test starts from a copy.
 */
async function migrateUpToTurnKey(database: TestDatabase): Promise<void> {
  await run(['migrate'], { DATABASE_URL: database.url });
  while ((await applied(database)).includes(TURN_KEY)) await run(['revert'], { DATABASE_URL: database.url });
}

/** Fills fulfillments with a day's results of many callers (every row an async turn's, finished). */
async function fillFulfillments(database: TestDatabase, rows: number): Promise<void> {
  await queryTestDatabase(
    database.url,
    `INSERT INTO fulfillments (id, caller_id, platform, session_id, intent, mode, status, expires_at)
     SELECT gen_random_uuid(), 'bot-' || (n % 50), 'generic', 'session-' || n, 'ExportStatements', 'async',
            'completed', now() + interval '1 day'
     FROM generate_series(1, $1::int) AS n`,
    [rows],
  );
  await queryTestDatabase(database.url, 'ANALYZE fulfillments');
}

describe('migrations on a live database: their own time limits, never holding up turns (real processes, real PostgreSQL)', () => {
  let database: TestDatabase;
  let services: ServiceProcess[] = [];
  const sessions: Client[] = [];
  const commands: Command[] = [];

  async function session(): Promise<Client> {
    const client = new Client({ connectionString: database.url });
    client.on('error', () => undefined);
    sessions.push(client);
    await client.connect();
    return client;
  }

  /** A long transaction that has read fulfillments: a migration's ALTER TABLE needs it to end. */
  async function longReadOfFulfillments(): Promise<{ reader: Client; readerPid: number }> {
    const reader = await session();
    await reader.query('BEGIN');
    await reader.query('SELECT count(*) FROM fulfillments');
    const readerPid = (await reader.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    return { reader, readerPid };
  }

  /** Migrated up to, not including, the turn-key migration: the state every test starts from (a copy of it). */
  let upToTurnKey: TestDatabase;

  async function startFromCopyBeforeTurnKey(): Promise<void> {
    database = await copyTestDatabase(upToTurnKey);
    expect(await applied(database)).toEqual(
      MIGRATIONS.map((migration) => migration.name).filter((name) => !FROM_TURN_KEY.includes(name)),
    );
    expect(await turnKeyIndex(database)).toBe('absent');
  }

  beforeAll(async () => {
    upToTurnKey = await createEmptyTestDatabase();
    await migrateUpToTurnKey(upToTurnKey);
  });
  afterAll(async () => upToTurnKey?.drop());
  afterEach(async () => {
    for (const cli of commands.splice(0)) cli.kill();
    await Promise.all(sessions.splice(0).map((client) => client.end().catch(() => undefined)));
    await Promise.all(services.map((service) => killService(service)));
    services = [];
    await database.drop();
  });

  it('a start applies a migration whose index takes longer than DB_STATEMENT_TIMEOUT_MS', async () => {
    await startFromCopyBeforeTurnKey();
    // Its index takes longer than 100 ms to build here. Before, the migration ran under the turns' statement_timeout
    // (and their read timeout, 2 s more): "canceling statement due to statement timeout", and the start failed.
    await fillFulfillments(database, 300_000);
    const service = startService({
      PORT: String(await freePort()),
      DATABASE_URL: database.url,
      DB_STATEMENT_TIMEOUT_MS: '100',
      // Only the migration is to take long: no demo data to seed under so short a timeout on a busy machine.
      SEED_DEMO_DATA: 'false',
    });
    services = [service];
    await service.waitFor(LISTENING);
    expect(service.output()).toContain(`Applied ${FROM_TURN_KEY.length} migration(s): ${FROM_TURN_KEY.join(', ')}`);
    expect(await turnKeyIndex(database)).toBe('valid');
    expect(await applied(database)).toEqual(MIGRATIONS.map((migration) => migration.name));
  });

  it('a migration waiting for a table lock lets turns through, names the transaction it waits for, and applies once it ends', async () => {
    await startFromCopyBeforeTurnKey();
    await fillFulfillments(database, 1000);
    const { reader, readerPid } = await longReadOfFulfillments();

    const migrate = command(['migrate'], { DATABASE_URL: database.url, DB_MIGRATION_LOCK_TIMEOUT_MS: '200' });
    commands.push(migrate);
    await eventually(
      () =>
        expect(migrate.output()).toMatch(
          new RegExp(
            `A migration could not lock its table within 200 ms \\(DB_MIGRATION_LOCK_TIMEOUT_MS; oldest open ` +
              `transactions: backend ${readerPid} \\(.+\\) for \\d+ s\\); trying again in 1000 ms`,
          ),
        ),
      30_000,
    );

    // Writes to the table go on meanwhile. Before, the ALTER TABLE waited in the lock queue for as long as its
    // statement_timeout let it (the chart's Job: 10 minutes), and every write to fulfillments queued behind it.
    const writer = await session();
    await writer.query("SET statement_timeout = '5s'");
    for (let n = 0; n < 5; n += 1) {
      await writer.query(
        `INSERT INTO fulfillments (id, caller_id, platform, session_id, intent, mode, status, expires_at)
         VALUES (gen_random_uuid(), 'bot-live', 'generic', $1, 'ExportStatements', 'async', 'queued', now() + interval '1 day')`,
        [`live-${n}`],
      );
    }
    expect(await applied(database)).not.toContain(TURN_KEY);

    await reader.query('COMMIT');
    expect(await migrate.exited).toBe(0);
    expect(migrate.output()).toContain(
      `Applied ${FROM_TURN_KEY.length} migration(s)${FROM_TURN_KEY.map((name) => `\n  ${name}`).join('')}`,
    );
    expect(await turnKeyIndex(database)).toBe('valid');
    const [{ live }] = await queryTestDatabase<{ live: string }>(
      database.url,
      "SELECT count(*) AS live FROM fulfillments WHERE caller_id = 'bot-live'",
    );
    expect(Number(live)).toBe(5);
  });

  it('a concurrent index build waits for an older snapshot as long as it lasts, not DB_MIGRATION_LOCK_TIMEOUT_MS', async () => {
    await startFromCopyBeforeTurnKey();
    await fillFulfillments(database, 1000);
    // A long report on another table: the build must wait for its snapshot, and its wait holds up no write.
    const report = await session();
    await report.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await report.query('SELECT count(*) FROM accounts');

    const migrate = command(['migrate'], { DATABASE_URL: database.url, DB_MIGRATION_LOCK_TIMEOUT_MS: '200' });
    commands.push(migrate);
    await eventually(async () => {
      const waiting = await queryTestDatabase<{ n: string }>(
        database.url,
        `SELECT count(*) AS n FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'CREATE UNIQUE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'`,
      );
      expect(Number(waiting[0].n)).toBe(1);
    }, 30_000);
    // Longer than the lock timeout, while the build still waits. Before, it gave up after 200 ms, after both scans,
    // and the migration was started over (and over, while any transaction lasted longer than that).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(migrate.output()).not.toContain('could not lock its table');
    expect(await turnKeyIndex(database)).toBe('invalid');

    await report.query('COMMIT');
    expect(await migrate.exited).toBe(0);
    expect(migrate.output()).not.toContain('could not lock its table');
    expect(await turnKeyIndex(database)).toBe('valid');
  });

  it('a start whose migration runs out of DB_MIGRATION_STATEMENT_TIMEOUT_MS waiting for locks fails in one line, naming the transaction', async () => {
    await startFromCopyBeforeTurnKey();
    const { readerPid } = await longReadOfFulfillments();

    const service = startService({
      PORT: String(await freePort()),
      DATABASE_URL: database.url,
      DB_MIGRATION_LOCK_TIMEOUT_MS: '200',
      DB_MIGRATION_STATEMENT_TIMEOUT_MS: '2000',
    });
    services = [service];
    expect((await service.exited).code).toBe(1);
    expect(service.output()).toContain('trying again in 1000 ms');
    // Before: "database unavailable (55P03): canceling statement due to lock timeout".
    expect(service.output()).toMatch(
      new RegExp(
        'Start-up failed: a migration could not lock its table within 2000 ms \\(DB_MIGRATION_STATEMENT_TIMEOUT_MS, ' +
          `every attempt together\\), and is not applied\\. Oldest open transactions: backend ${readerPid} `,
      ),
    );
    expect(service.output()).not.toMatch(/"stack"| {4}at /);
    expect(await applied(database)).not.toContain(TURN_KEY);
    expect(await turnKeyIndex(database)).toBe('absent');
  });

  it('an index left invalid by an attempt that failed part-way is built again', async () => {
    await startFromCopyBeforeTurnKey();
    // What a build CONCURRENTLY leaves when it fails: an index PostgreSQL keeps but does not enforce.
    await queryTestDatabase(database.url, 'ALTER TABLE fulfillments ADD COLUMN idempotency_key character(64)');
    await queryTestDatabase(
      database.url,
      `INSERT INTO fulfillments (id, caller_id, platform, session_id, intent, mode, status, expires_at, idempotency_key)
       SELECT gen_random_uuid(), 'bot', 'generic', 'session', 'ExportStatements', 'async', 'queued',
              now() + interval '1 day', repeat('k', 64)
       FROM generate_series(1, 2)`,
    );
    await expect(
      queryTestDatabase(
        database.url,
        `CREATE UNIQUE INDEX CONCURRENTLY "${INDEX}" ON fulfillments (caller_id, idempotency_key)`,
      ),
    ).rejects.toThrow(/could not create unique index/);
    expect(await turnKeyIndex(database)).toBe('invalid');
    await queryTestDatabase(
      database.url,
      `DELETE FROM fulfillments WHERE ctid = (SELECT max(ctid) FROM fulfillments WHERE idempotency_key IS NOT NULL)`,
    );

    await run(['migrate'], { DATABASE_URL: database.url });
    expect(await turnKeyIndex(database)).toBe('valid');
    expect(await applied(database)).toContain(TURN_KEY);
  });
});
