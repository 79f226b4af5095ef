import { setTimeout as sleep } from 'node:timers/promises';
import { MigrationExecutor, type DataSource, type Migration, type QueryRunner } from 'typeorm';

/** Advisory lock key held while the schema changes ("wfmg" in ASCII), by the service and the commands alike. */
export const MIGRATION_LOCK = 0x77666d67;
const RETRY_MS = 250;

/** Who holds the lock now: PostgreSQL's backend pid, readable by any role (pg_locks, unlike pg_stat_activity). */
const HOLDER = `SELECT pid FROM pg_locks
  WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = $1 AND objsubid = 1 LIMIT 1`;

/**
 * Runs `work` on one connection that holds the migration lock, waiting for it as long as another process holds
 * it. Replicas that start together on one database (pods that migrate at start, a pod and the migration Job) each
 * saw the same migrations pending: all but one met the first's tables ("already exists", a duplicate in pg_type)
 * and TypeORM retried them with an error line saying it could not connect, and a migration that changes only
 * data would have run once per replica. The lock belongs to the session the migrations run on, so it ends with
 * that connection, whatever becomes of the process; polling for it keeps every statement short, within
 * `statement_timeout`.
 */
export async function withMigrationLock<T>(
  dataSource: DataSource,
  work: (runner: QueryRunner) => Promise<T>,
  onWait: (message: string) => void,
): Promise<T> {
  const runner = dataSource.createQueryRunner();
  try {
    const waitedMs = await acquire(runner, onWait);
    if (waitedMs > 0) onWait(`Migration lock taken after ${Math.round(waitedMs)} ms; migrating`);
    try {
      return await work(runner);
    } finally {
      // An unlock fails only on a lost connection, whose session (and lock) PostgreSQL has ended; the pool drops
      // a connection that is no longer queryable.
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    }
  } finally {
    await runner.release();
  }
}

async function acquire(runner: QueryRunner, onWait: (message: string) => void): Promise<number> {
  const started = performance.now();
  for (let told = false; ;) {
    const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK])) as [
      { locked: boolean },
    ];
    if (locked) return told ? performance.now() - started : 0;
    if (!told) {
      const [holder] = (await runner.query(HOLDER, [MIGRATION_LOCK])) as { pid: number }[];
      onWait(
        `Waiting for another process${holder ? ` (PostgreSQL backend ${holder.pid})` : ''} to finish migrating the schema`,
      );
      told = true;
    }
    await sleep(RETRY_MS);
  }
}

/** Runs `work` with TypeORM's migration executor on the locked connection, each migration in its own transaction. */
function underLock<T>(
  dataSource: DataSource,
  work: (executor: MigrationExecutor) => Promise<T>,
  onWait: (message: string) => void,
): Promise<T> {
  return withMigrationLock(
    dataSource,
    (runner) => {
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = 'each';
      return work(executor);
    },
    onWait,
  );
}

/** Applies the pending migrations, one process at a time. */
export function migrateSchema(dataSource: DataSource, onWait: (message: string) => void): Promise<Migration[]> {
  return underLock(dataSource, (executor) => executor.executePendingMigrations(), onWait);
}

/** Undoes the newest applied migration, one process at a time. */
export function revertLastMigration(dataSource: DataSource, onWait: (message: string) => void): Promise<void> {
  return underLock(dataSource, (executor) => executor.undoLastMigration(), onWait);
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
