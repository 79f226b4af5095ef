import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '../config';

export const APPLICATION_NAME = 'webhook-fulfillment';
/** pg's limit on opening a connection; also the longest background work waits for a pool connection. */
export const CONNECT_TIMEOUT_MS = 5000;

/**
 * The one TypeORM options object, shared by the Nest application and the migration commands.
 * Entities and migrations are found by file name so that new modules only add files.
 */
export function buildDataSourceOptions(
  database: Pick<DatabaseConfig, 'poolSize' | 'statementTimeoutMs'> & { url: string },
): DataSourceOptions {
  return {
    type: 'postgres',
    url: database.url,
    applicationName: APPLICATION_NAME,
    // gen_random_uuid() is built into PostgreSQL 13+, so no extension (and no superuser) is needed.
    uuidExtension: 'pgcrypto',
    entities: [join(__dirname, '..', '**', '*.entity.{ts,js}')],
    migrations: [join(__dirname, 'migrations', '*.{ts,js}')],
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error', 'warn', 'migration'],
    extra: {
      max: database.poolSize,
      statement_timeout: database.statementTimeoutMs,
      idle_in_transaction_session_timeout: database.statementTimeoutMs * 4,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    },
  };
}
