import { Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config';
import { buildDataSourceOptions, declaredEntities } from './data-source-options';
import { DatabaseAvailability } from './database-availability';
import { DatabasePool } from './database-pool';
import { DatabaseProbe } from './database-probe';
import { PgNotifications } from './pg-notifications';
import { PgPools, PgPoolsModule } from './pg-pools';
import { ReadReplicas } from './replicas/read-replicas';
import { migrateSchema } from './schema-migrations';

/**
 * TypeORM's data source, its pending migrations applied (when `migrationsRun`) under the migration lock rather
 * than by TypeORM itself, which takes no lock: replicas starting together would each run them.
 */
async function migratedDataSource(options?: DataSourceOptions): Promise<DataSource> {
  if (!options) throw new Error('DatabaseModule builds its data source from options');
  const dataSource = await new DataSource({ ...options, migrationsRun: false }).initialize();
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
          retryAttempts: 3,
          retryDelay: 1000,
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
