import * as pg from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * The connections reach PostgreSQL through a pooler that hands one server session to several clients between
 * transactions (PgBouncer's `pool_mode = transaction` or `statement`).
 */
export class SharedSessionsError extends Error {
  constructor(readonly backends: { readonly first: number; readonly other: number; readonly firstAgain: number }) {
    super(
      `PostgreSQL sessions are shared between the service's connections (backend ${backends.first} answered ` +
        (backends.other === backends.first
          ? 'two of them at once'
          : `one of them, then backend ${backends.firstAgain} did`) +
        '): a pooler in transaction mode, such as PgBouncer with pool_mode = transaction, is in front of ' +
        'PostgreSQL. The service prepares statements by name, listens for notifications and holds the migration ' +
        'lock in its sessions: point DATABASE_URL at PostgreSQL, or at a pooler in session mode',
    );
    this.name = 'SharedSessionsError';
  }
}

const BACKEND = 'SELECT pg_backend_pid() AS pid';

async function backendOf(runner: QueryRunner): Promise<number> {
  const [{ pid }] = (await runner.query(BACKEND)) as [{ pid: number }];
  return pid;
}

/**
 * Refuses a data source whose connections do not each have a PostgreSQL session of their own. Two connections
 * are held open together: PostgreSQL, and a pooler in session mode, give each one backend for as long as it is
 * open. A pooler in transaction mode gives a connection whichever backend is free for each statement: the second
 * connection gets the backend the first has just let go of (PgBouncer reuses the last one freed), or the first
 * connection gets another. Either is proof; a pooler that happened to answer otherwise is not caught here, and its
 * errors say what it is when it shows (`prepared statement "…" already exists`, see sql.ts). The second connection
 * is made as the pool makes its own, outside it: a pool of one (DB_POOL_SIZE=1) could not lend two.
 */
export async function requireOwnSessions(dataSource: DataSource): Promise<void> {
  const pool = (dataSource.driver as PostgresDriver).master as pg.Pool;
  const Client = (pool.options as { Client?: typeof pg.Client }).Client ?? pg.Client;
  const runner = dataSource.createQueryRunner();
  const second = new Client(pool.options);
  second.on('error', () => undefined);
  try {
    const first = await backendOf(runner);
    await second.connect();
    const [{ pid: other }] = (await second.query<{ pid: number }>(BACKEND)).rows;
    const firstAgain = await backendOf(runner);
    if (other === first || firstAgain !== first) throw new SharedSessionsError({ first, other, firstAgain });
  } finally {
    await runner.release();
    await second.end().catch(() => undefined);
  }
}
