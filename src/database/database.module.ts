import { Logger, Module } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config';
import { isConnectionError } from './connection-errors';
import { buildDataSourceOptions, declaredEntities } from './data-source-options';
import { DatabaseAvailability } from './database-availability';
import { DatabasePool } from './database-pool';
import { DatabaseProbe } from './database-probe';
import { PgNotifications } from './pg-notifications';
import { PgPools, PgPoolsModule } from './pg-pools';
import { ReadReplicas } from './replicas/read-replicas';
import { migrateSchema } from './schema-migrations';

/** Attempts to reach PostgreSQL at start (a database that starts alongside the service may take a moment). */
const CONNECT_ATTEMPTS = 3;
const CONNECT_RETRY_MS = 1000;

/**
 * The data source, connected; a server out of reach is tried again, with a warning line per attempt. Not TypeORM's
 * retries: they logged every attempt at error with a stack and retried whatever failed, a bad migration too.
 */
async function connectedDataSource(options: DataSourceOptions): Promise<DataSource> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await new DataSource(options).initialize();
    } catch (error: unknown) {
      if (attempt >= CONNECT_ATTEMPTS || !isConnectionError(error)) throw error;
      const code = (error as { code?: unknown }).code;
      new Logger('PostgreSQL').warn(
        `Cannot reach PostgreSQL (${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message}); ` +
          `trying again in ${CONNECT_RETRY_MS} ms (attempt ${attempt} of ${CONNECT_ATTEMPTS})`,
      );
      await sleep(CONNECT_RETRY_MS);
    }
  }
}

/**
 * TypeORM's data source, its pending migrations applied (when `migrationsRun`) under the migration lock rather
 * than by TypeORM itself, which takes no lock: replicas starting together would each run them.
 */
async function migratedDataSource(options?: DataSourceOptions): Promise<DataSource> {
  if (!options) throw new Error('DatabaseModule builds its data source from options');
  const dataSource = await connectedDataSource({ ...options, migrationsRun: false });
  if (!options.migrationsRun) return dataSource;
  const logger = new Logger('Migrations');
  try {
    const applied = await migrateSchema(dataSource, (message) => logger.log(message));
    if (applied.length > 0) {
      logger.log(`Applied ${applied.length} migration(s): ${applied.map((migration) => migration.name).join(', ')}`);
    }
    return dataSource;
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    throw error;
  }
}

/**
 * TypeORM (migrations, entities), the pg pool for hot reads, whether PostgreSQL is reachable, and LISTEN/NOTIFY
 * between replicas.
 */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      imports: [PgPoolsModule],
      inject: [AppConfig, PgPools],
      useFactory: (config: AppConfig, pools: PgPools) => {
        const { url } = config.database;
        if (!url) throw new Error('DatabaseModule needs a database URL; main.ts resolves it before start-up');
        return {
          ...buildDataSourceOptions({ ...config.database, url }, declaredEntities()),
          driver: pools.driver(),
          migrationsRun: config.database.migrationsRun,
          // Retried in connectedDataSource instead.
          toRetry: () => false,
        };
      },
      dataSourceFactory: migratedDataSource,
    }),
    PgPoolsModule,
  ],
  providers: [DatabasePool, DatabaseProbe, DatabaseAvailability, PgNotifications, ReadReplicas],
  exports: [DatabasePool, DatabaseAvailability, PgNotifications, ReadReplicas],
})
export class DatabaseModule {}
