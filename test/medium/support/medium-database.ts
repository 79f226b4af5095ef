import { DatabasePool } from '../../../src/database/database-pool';
import { PgPools } from '../../../src/database/pg-pools';
import { testPool } from './test-pool';
import { createTestDatabase, queryTestDatabase, TestDatabase } from '../../support/test-database';

export interface MediumDatabase {
  readonly database: TestDatabase;
  /** The service's statement runner on this database. */
  readonly pool: DatabasePool;
  /** A plain query on the database, for arranging and checking rows. */
  query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** A fresh copy of the migrated, seeded template database, and the service's `DatabasePool` on it; no Nest. */
export async function mediumDatabase(): Promise<MediumDatabase> {
  const database = await createTestDatabase();
  const pg = testPool({ connectionString: database.url, max: 6 });
  return {
    database,
    pool: new DatabasePool(PgPools.of(pg)),
    query: (sql, params = []) => queryTestDatabase(database.url, sql, params),
    close: async () => {
      await pg.end();
      await database.drop();
    },
  };
}
