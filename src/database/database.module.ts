import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config';
import { buildDataSourceOptions } from './data-source-options';
import { DatabaseAvailability } from './database-availability';
import { DatabasePool } from './database-pool';

/** TypeORM (migrations, entities), the pg pool for hot reads, and whether PostgreSQL is reachable. */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        const { url } = config.database;
        if (!url) throw new Error('DatabaseModule needs a database URL; main.ts resolves it before start-up');
        return {
          ...buildDataSourceOptions({ ...config.database, url }),
          migrationsRun: config.database.migrationsRun,
          retryAttempts: 3,
          retryDelay: 1000,
        };
      },
    }),
  ],
  providers: [DatabasePool, DatabaseAvailability],
  exports: [DatabasePool, DatabaseAvailability],
})
export class DatabaseModule {}
