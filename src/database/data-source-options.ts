import { join } from 'node:path';
import { getMetadataArgsStorage, type DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from '../config';
import { MIGRATIONS } from './migrations';
import { SessionSettingsClient } from './session-settings';
import { TypeOrmLogger } from './typeorm-logger';

export const APPLICATION_NAME = 'webhook-fulfillment';
/** pg's limit on opening a connection; also the longest background work waits for a pool connection. */
export const CONNECT_TIMEOUT_MS = 5000;

type EntityClass = abstract new (...args: never[]) => unknown;

/** Every entity file of the source tree: what the migration commands compare the schema with. */
export const ENTITY_FILES = join(__dirname, '..', '**', '*.entity.{ts,js}');

/**
 * The entity classes the loaded modules declared (`@Entity()`): the application's, once its modules are loaded,
 * since each module imports its own. The application does not find them by file name: it runs from one bundled
 * file (scripts/build.mjs), where a class loaded again from its own file would be a second, unknown copy.
 */
export function declaredEntities(): EntityClass[] {
  return [...new Set(getMetadataArgsStorage().tables.map((table) => table.target))].filter(
    (target): target is EntityClass => typeof target === 'function',
  );
}

/**
 * The one TypeORM options object, shared by the Nest application and the migration commands. `entities`: the
 * entity files by default (the commands, and tests that open a data source of their own); the application passes
 * `declaredEntities()`.
 */
export function buildDataSourceOptions(
  database: Pick<DatabaseConfig, 'poolSize' | 'statementTimeoutMs'> & { url: string },
  entities: NonNullable<DataSourceOptions['entities']> = [ENTITY_FILES],
): DataSourceOptions {
  return {
    type: 'postgres',
    url: database.url,
    applicationName: APPLICATION_NAME,
    // gen_random_uuid() is built into PostgreSQL 13+, so no extension (and no superuser) is needed, and TypeORM is
    // not to try CREATE EXTENSION on every start: on a server that takes no writes (a standby) or for a role that
    // may not create one, that failed and printed a misleading "install it manually" on stderr.
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    entities,
    migrations: [...MIGRATIONS],
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logger: new TypeOrmLogger(),
    extra: {
      // The timeouts by SET once connected, not as startup parameters, which PgBouncer refuses: the migration
      // commands run behind one too. (The application's own pool class gives its guarded client instead.)
      Client: SessionSettingsClient,
      max: database.poolSize,
      statement_timeout: database.statementTimeoutMs,
      idle_in_transaction_session_timeout: database.statementTimeoutMs * 4,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    },
  };
}
