import { type AppConfig, type DatabaseConfig, serverUrl } from '../config';
import { CONNECT_TIMEOUT_MS } from './data-source-options';
import { RunningDatabase, startEmbeddedPostgres } from './embedded/embedded-postgres.server';
import { ServerSelector } from './server-selector';

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

/**
 * For a command that opens connections of its own (the database and deliveries commands): `url`, or, when
 * DATABASE_URL lists several servers or asks for a kind, the URL of the first listed server that suits.
 */
export async function suitableServerUrl(database: Pick<DatabaseConfig, 'servers'>, url: string): Promise<string> {
  if (!database.servers) return url;
  const server = await new ServerSelector(database.servers).choose({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  return serverUrl(database.servers, server);
}
