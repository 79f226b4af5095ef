import { Module } from '@nestjs/common';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { AppConfig } from '../config';
import { buildDataSourceOptions, declaredEntities } from './data-source-options';
import { DatabaseAvailability } from './database-availability';
import { DatabasePool } from './database-pool';
import { DatabaseProbe } from './database-probe';
import { PgNotifications } from './pg-notifications';
import { PgPools, PgPoolsModule } from './pg-pools';
import { ReadReplicas } from './replicas/read-replicas';
import { startDataSource, type StartOptions } from './data-source-start';

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
        const options: TypeOrmModuleOptions & Pick<StartOptions, 'migrationLimits'> = {
          ...buildDataSourceOptions({ ...config.database, url }, declaredEntities()),
          driver: pools.driver(),
          migrationsRun: config.database.migrationsRun,
          migrationLimits: config.database.migrationLimits,
          // Retried in startDataSource instead.
          toRetry: () => false,
        };
        return options;
      },
      dataSourceFactory: (options) => startDataSource(options as StartOptions | undefined),
    }),
    PgPoolsModule,
  ],
  providers: [DatabasePool, DatabaseProbe, DatabaseAvailability, PgNotifications, ReadReplicas],
  exports: [DatabasePool, DatabaseAvailability, PgNotifications, ReadReplicas],
})
export class DatabaseModule {}
