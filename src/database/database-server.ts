import type { AppConfig } from '../config';
import { RunningDatabase, startEmbeddedPostgres } from './embedded/embedded-postgres.server';

/**
 * Resolves the database the process will use: the configured DATABASE_URL, or an embedded PostgreSQL
 * started here when none is configured (local development and the zero-configuration start).
 */
export async function resolveDatabase(
  config: AppConfig,
  log: (message: string) => void,
  onSpawn?: () => void,
): Promise<RunningDatabase & { embedded: boolean }> {
  if (config.database.url) {
    return { url: config.database.url, embedded: false, stop: () => Promise.resolve() };
  }
  const { dataDir, port } = config.database.embedded;
  log(`DATABASE_URL is not set: starting embedded PostgreSQL on 127.0.0.1:${port} (data in ${dataDir})`);
  const running = await startEmbeddedPostgres({ dataDir, port, database: 'fulfillment', log, onSpawn });
  return { ...running, embedded: true };
}
