import { setTimeout as sleep } from 'node:timers/promises';
import { MigrationExecutor, type DataSource, type Migration, type QueryRunner } from 'typeorm';
import type { MigrationLimits } from '../config';
import { type GuardedClient, readTimeoutMs } from './guarded-client';

/** Advisory lock key held while the schema changes ("wfmg" in ASCII), by the service and the commands alike. */
export const MIGRATION_LOCK = 0x77666d67;
const RETRY_MS = 250;

/**
 * Who holds the lock now: PostgreSQL's backend pid, readable by any role (pg_locks); and, where this role may see
 * it (pg_stat_activity: the same role, or pg_read_all_stats), whether that session is busy and since when not.
 */
const HOLDER = `SELECT l.pid, a.state, floor(extract(epoch FROM now() - a.state_change))::int AS "idleSeconds"
  FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
  WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1 LIMIT 1`;

/**
 * A holder doing nothing for this long is taken for gone: a migrating process is busy, or idle for the pause
 * between attempts at a table lock (15 s at most). A process that died without closing its connection (a node
 * lost, a frozen VM) keeps its session, and the lock, until TCP gives up on it: about two hours by default.
 */
export const STUCK_HOLDER_MS = 120_000;
/** How often a wait for the lock says it is still waiting. */
const WAIT_NOTE_MS = 30_000;

/** The lock's holder has done nothing for too long: probably gone, its session left open. */
export class MigrationLockHolderStuckError extends Error {
  constructor(pid: number, idleSeconds: number) {
    super(
      `the migration lock is held by PostgreSQL backend ${pid}, which has done nothing for ${idleSeconds} s (its ` +
        `process may be gone, its connection not closed): if no migration is running, end that session ` +
        `(SELECT pg_terminate_backend(${pid})) and start again`,
    );
    this.name = 'MigrationLockHolderStuckError';
  }
}

interface LockHolder {
  readonly pid: number;
  readonly state: string | null;
  readonly idleSeconds: number | null;
}

/**
 * Runs `work` on one connection that holds the migration lock, waiting for it as long as another process holds
 * it. Replicas that start together on one database (pods that migrate at start, a pod and the migration Job) each
 * saw the same migrations pending: all but one met the first's tables ("already exists", a duplicate in pg_type)
 * and TypeORM retried them with an error line saying it could not connect, and a migration that changes only
 * data would have run once per replica. The lock belongs to the session the migrations run on, so it ends with
 * that connection, whatever becomes of the process; polling for it keeps every statement short, within
 * `statement_timeout`.
 */
async function withMigrationLock<T>(
  dataSource: DataSource,
  work: (runner: QueryRunner) => Promise<T>,
  onWait: (message: string) => void,
): Promise<T> {
  const runner = dataSource.createQueryRunner();
  try {
    const waitedMs = await acquireMigrationLock(runner, onWait);
    if (waitedMs > 0) onWait(`Migration lock taken after ${Math.round(waitedMs)} ms; migrating`);
    try {
      return await work(runner);
    } finally {
      // An unlock fails only on a lost connection, whose session (and lock) PostgreSQL has ended.
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    }
  } finally {
    // Closed, not returned to the pool: the session carries the migration limits (and whatever a migration left
    // in it), which no turn's statement is to run under. The pool opens a new connection when it needs one.
    await releaseClosing(runner);
  }
}

/**
 * Hands the connection back to its pool with an error, which closes it (pg-pool's `release(error)`); TypeORM's
 * PostgreSQL runner has the method, though its type declares it private.
 */
async function releaseClosing(runner: QueryRunner): Promise<void> {
  const postgres = runner as unknown as { releasePostgresConnection(error: Error): Promise<void> };
  await postgres.releasePostgresConnection(new Error('the migration connection is not reused'));
}

/**
 * Takes the migration lock, waiting while another process holds it; gives up (`MigrationLockHolderStuckError`)
 * when the holder has done nothing for `stuckAfterMs`. Returns how long it waited.
 */
export async function acquireMigrationLock(
  runner: QueryRunner,
  onWait: (message: string) => void,
  stuckAfterMs = STUCK_HOLDER_MS,
): Promise<number> {
  const started = performance.now();
  for (let toldAt: number | undefined; ;) {
    const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK])) as [
      { locked: boolean },
    ];
    if (locked) return toldAt === undefined ? 0 : performance.now() - started;
    const [holder] = (await runner.query(HOLDER, [MIGRATION_LOCK])) as LockHolder[];
    const idle = holder?.state !== null && holder?.state !== 'active' ? holder?.idleSeconds : null;
    if (holder && idle !== null && idle !== undefined && idle * 1000 >= stuckAfterMs) {
      throw new MigrationLockHolderStuckError(holder.pid, idle);
    }
    if (toldAt === undefined || performance.now() - toldAt >= WAIT_NOTE_MS) {
      const waited = toldAt === undefined ? '' : ` (waiting ${Math.round((performance.now() - started) / 1000)} s)`;
      onWait(
        `Waiting for another process${holder ? ` (PostgreSQL backend ${holder.pid})` : ''} to finish migrating the schema${waited}`,
      );
      toldAt = performance.now();
    }
    await sleep(RETRY_MS);
  }
}

/** A statement that gave up waiting for a lock (`lock_timeout`). */
const LOCK_NOT_AVAILABLE = '55P03';
const LOCK_RETRY_FIRST_MS = 1000;
const LOCK_RETRY_MAX_MS = 15_000;

/** The sessions whose transactions have been open longest: what a migration waiting for a table lock waits for. */
const OLDEST_TRANSACTIONS = `SELECT pid, coalesce(nullif(application_name, ''), usename::text, '?') AS who,
    round(extract(epoch FROM now() - xact_start))::int AS seconds
  FROM pg_stat_activity
  WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()
  ORDER BY xact_start LIMIT 3`;

/**
 * Runs `work` with TypeORM's migration executor on the locked connection, each migration in its own transaction,
 * with the migration limits on that connection's session (a turn's `statement_timeout` is too short for an index
 * on a large table) and the guard's wait for answers to match. A migration that cannot lock its table within
 * `lockTimeoutMs` (a long transaction holds it) is rolled back and tried again after a pause, so turns never queue
 * behind it for longer than that, until its waits for locks add up to `statementTimeoutMs`.
 */
function underLock<T>(
  dataSource: DataSource,
  limits: MigrationLimits,
  work: (executor: MigrationExecutor) => Promise<T>,
  onWait: (message: string) => void,
): Promise<T> {
  return withMigrationLock(
    dataSource,
    (runner) =>
      withMigrationSettings(runner, limits, async () => {
        // Time spent waiting for locks: each attempt that gave up waited lockTimeoutMs, then paused.
        let waited = 0;
        for (let pause = LOCK_RETRY_FIRST_MS; ; pause = Math.min(pause * 2, LOCK_RETRY_MAX_MS)) {
          const executor = new MigrationExecutor(dataSource, runner);
          executor.transaction = 'each';
          try {
            return await work(executor);
          } catch (error: unknown) {
            if ((error as { code?: unknown }).code !== LOCK_NOT_AVAILABLE) throw error;
            waited += limits.lockTimeoutMs;
            if (waited + pause > limits.statementTimeoutMs) {
              throw new MigrationLocksError(limits.statementTimeoutMs, await oldestTransactions(runner));
            }
            waited += pause;
            onWait(
              `A migration could not lock its table within ${limits.lockTimeoutMs} ms ` +
                `(DB_MIGRATION_LOCK_TIMEOUT_MS; oldest open transactions: ${await oldestTransactions(runner)}); ` +
                `trying again in ${pause} ms`,
            );
            await sleep(pause);
          }
        }
      }),
    onWait,
  );
}

/**
 * Gives the locked connection's session the migration limits, and its client the matching wait for answers. Never
 * undone: the connection is closed afterwards (`withMigrationLock`).
 */
async function withMigrationSettings<T>(
  runner: QueryRunner,
  limits: MigrationLimits,
  work: () => Promise<T>,
): Promise<T> {
  const client = (await runner.connect()) as Partial<GuardedClient>;
  await runner.query(`SELECT set_config('statement_timeout', $1, false), set_config('lock_timeout', $2, false)`, [
    String(limits.statementTimeoutMs),
    String(limits.lockTimeoutMs),
  ]);
  client.waitForAnswersUpTo?.(readTimeoutMs(limits));
  return work();
}

async function oldestTransactions(runner: QueryRunner): Promise<string> {
  try {
    const rows = (await runner.query(OLDEST_TRANSACTIONS)) as { pid: number; who: string; seconds: number }[];
    if (rows.length === 0) return 'none now';
    return rows.map((row) => `backend ${row.pid} (${row.who}) for ${row.seconds} s`).join(', ');
  } catch {
    return 'unknown';
  }
}

/** Applies the pending migrations, one process at a time. */
export function migrateSchema(
  dataSource: DataSource,
  limits: MigrationLimits,
  onWait: (message: string) => void,
): Promise<Migration[]> {
  return underLock(dataSource, limits, (executor) => executor.executePendingMigrations(), onWait);
}

/** Undoes the newest applied migration, one process at a time; its name, or undefined when none was applied. */
export function revertLastMigration(
  dataSource: DataSource,
  limits: MigrationLimits,
  onWait: (message: string) => void,
): Promise<string | undefined> {
  return underLock(
    dataSource,
    limits,
    async (executor) => {
      // Newest first (by id), the one undoLastMigration undoes; read under the same lock.
      const [newest] = await executor.getExecutedMigrations();
      await executor.undoLastMigration();
      return newest?.name;
    },
    onWait,
  );
}

/** Migrations that could not lock their tables within `DB_MIGRATION_STATEMENT_TIMEOUT_MS`, all attempts together. */
export class MigrationLocksError extends Error {
  constructor(budgetMs: number, transactions: string) {
    super(
      `a migration could not lock its table within ${budgetMs} ms (DB_MIGRATION_STATEMENT_TIMEOUT_MS, every attempt ` +
        `together), and is not applied. Oldest open transactions: ${transactions}. End the one that holds the ` +
        'table, or migrate again once it is done',
    );
    this.name = 'MigrationLocksError';
  }
}

/** A start without migrations (`DB_MIGRATIONS_RUN=false`) on a database that lacks some this release needs. */
export class PendingMigrationsError extends Error {
  constructor(readonly pending: readonly string[]) {
    super(
      `the database lacks ${pending.length} migration(s) this release needs (${pending.join(', ')}): run ` +
        "`node dist/cli/database.cli.js migrate` (the chart's migration Job), or start with DB_MIGRATIONS_RUN=true",
    );
    this.name = 'PendingMigrationsError';
  }
}

/**
 * The migrations this release knows that the database has not applied, oldest first. Read without DDL (TypeORM's
 * own check creates its table when missing, which a start without migrations must not do). Migrations the
 * database has and this release does not know (a newer release's, after a rollback) are no concern of it.
 */
export async function pendingMigrations(dataSource: DataSource): Promise<string[]> {
  const table = dataSource.options.migrationsTableName ?? 'migrations';
  const [{ present }] = await dataSource.query<[{ present: boolean }]>(
    'SELECT to_regclass($1) IS NOT NULL AS present',
    [table],
  );
  const rows = present ? await dataSource.query<{ name: string }[]>(`SELECT name FROM "${table}"`) : [];
  const applied = new Set(rows.map((row) => row.name));
  return dataSource.migrations
    .map((migration) => migration.name ?? migration.constructor.name)
    .filter((name) => !applied.has(name));
}
