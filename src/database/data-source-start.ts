import { Logger } from '@nestjs/common';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { MigrationLimits } from '../config';
import { retryLostConnection, START_ATTEMPTS } from './start-retries';
import { requireOwnSessions } from './own-sessions';
import { migrateSchema, PendingMigrationsError, pendingMigrations } from './schema-migrations';

/** TypeORM's options, and what a migration at start may take (`migrationsRun`). */
export type StartOptions = DataSourceOptions & { readonly migrationLimits: MigrationLimits };

const START_RETRY_MS = 1000;

/**
 * The application's data source, connected, its pending migrations applied (when `migrationsRun`) under the
 * migration lock rather than by TypeORM, which takes none: replicas starting together each ran them. Without
 * `migrationsRun`, a database that lacks any of them is refused. So is a pooler that shares sessions between
 * connections, before anything is written.
 *
 * A start that loses PostgreSQL (out of reach, or a connection the server ended, e.g. `idle_session_timeout`
 * between two steps) is tried again, with one warning per attempt. Not TypeORM's retries: they logged every
 * attempt at error with a stack, and retried whatever failed, a bad migration too.
 */
export async function startDataSource(options?: StartOptions): Promise<DataSource> {
  if (!options) throw new Error('the data source is built from options');
  return retryLostConnection(
    async () => {
      let dataSource: DataSource | undefined;
      try {
        dataSource = await new DataSource({ ...options, migrationsRun: false }).initialize();
        await requireOwnSessions(dataSource);
        if (options.migrationsRun) await migrate(dataSource, options.migrationLimits);
        else await requireMigrated(dataSource);
        return dataSource;
      } catch (error: unknown) {
        await dataSource?.destroy().catch(() => undefined);
        throw error;
      }
    },
    {
      retryMs: START_RETRY_MS,
      onRetry: (error, attempt) => {
        const code = (error as { code?: unknown }).code;
        new Logger('PostgreSQL').warn(
          `Cannot use PostgreSQL yet (${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message}); ` +
            `trying again in ${START_RETRY_MS} ms (attempt ${attempt} of ${START_ATTEMPTS})`,
        );
      },
    },
  );
}

/**
 * Without migrations at start (the chart's Job applies them), a database that lacks some this release needs is
 * refused: before, the service started and then failed wherever it met a missing table or column, at warn level.
 * Kubernetes then keeps the previous release's pods serving.
 */
async function requireMigrated(dataSource: DataSource): Promise<void> {
  const pending = await pendingMigrations(dataSource);
  if (pending.length > 0) throw new PendingMigrationsError(pending);
}

async function migrate(dataSource: DataSource, limits: MigrationLimits): Promise<void> {
  const logger = new Logger('Migrations');
  const applied = await migrateSchema(dataSource, limits, (message) => logger.log(message));
  if (applied.length > 0) {
    logger.log(`Applied ${applied.length} migration(s): ${applied.map((migration) => migration.name).join(', ')}`);
  }
}
