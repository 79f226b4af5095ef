import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgresError } from './embedded-postgres.errors';
import { ensureRootOwnedFolder, firstBlockedFolder } from './folder-access';
import { postgresBinaries } from './postgres-binaries';
import { PostgresCluster } from './postgres-cluster';
import { postgresOsUser, type PostgresOsUser } from './os-user';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  database: string;
  /** Our own notes about where things went (not PostgreSQL's log, which is kept for error messages). */
  log?: (line: string) => void;
  /** Called once the server process is spawned, while it starts (see PostgresClusterOptions.onSpawn). */
  onSpawn?: () => void;
}

export interface RunningDatabase {
  url: string;
  stop(): Promise<void>;
}

/** Where root keeps data folders that the `postgres` user could not reach inside the project. */
export const ROOT_DATA_FOLDER = '/var/lib/webhook-fulfillment';

/**
 * Starts a real PostgreSQL server from the binaries of the `@embedded-postgres/<platform>-<arch>` package,
 * initialising its data folder on first use and creating the application database. It works for any user from
 * any folder: a normal user runs PostgreSQL as themselves; root runs it as the unprivileged `postgres` account,
 * from a copy of the binaries in a root-owned cache, with the data in the configured folder when that account
 * can reach it and otherwise in a folder of its own under /var/lib/webhook-fulfillment.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningDatabase> {
  const user = postgresOsUser();
  const asOtherUser = user.uid !== undefined;
  const { bin } = await postgresBinaries(asOtherUser);
  const dataDir = await placeDataFolder(resolve(options.dataDir), user, options.log);
  const passwordFile = join(dirname(dataDir), `${basename(dataDir)}.password`);
  const cluster = new PostgresCluster({
    bin,
    dataDir,
    port: options.port,
    user,
    log: options.log,
    onSpawn: options.onSpawn,
  });

  let password: string;
  if (cluster.isInitialised) {
    if (!existsSync(passwordFile)) {
      throw new EmbeddedPostgresError(
        `the embedded PostgreSQL in ${dataDir} has lost its password file ${passwordFile}: remove ${dataDir} to start with a new database`,
      );
    }
    password = (await readFile(passwordFile, 'utf8')).trim();
  } else {
    // Kept before the cluster is made: a run stopped between the two must not leave a cluster nobody can log in to.
    password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    await cluster.initialise({ method: 'scram-sha-256', password });
  }
  await cluster.start();

  const database = options.database;
  const admin = new Client({ host: '127.0.0.1', port: options.port, user: 'postgres', password, database: 'postgres' });
  try {
    await admin.connect();
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)}`);
  } catch (error: unknown) {
    await cluster.stop();
    throw error;
  } finally {
    await admin.end().catch(() => undefined);
  }

  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${database}`,
    stop: () => (stopped ??= cluster.stop()),
  };
}

/**
 * The data folder to use. Ours to create when we run PostgreSQL ourselves; when it runs as the `postgres`
 * account, that account must be able to enter every folder above it. If it cannot (a project in /root or in
 * a private home folder), the data goes to a folder derived from the configured path, so each project keeps
 * its own database across runs.
 */
async function placeDataFolder(
  configured: string,
  user: PostgresOsUser,
  log?: (line: string) => void,
): Promise<string> {
  const parent = dirname(configured);
  const created = await mkdir(parent, { recursive: true });
  if (user.uid === undefined) return configured;
  // Root's umask (often 077) would close the folder we just made to the server's user.
  if (created) await chmod(parent, 0o755);
  const blocked = await firstBlockedFolder(configured, user);
  if (!blocked) return configured;
  const key = createHash('sha256').update(configured).digest('hex').slice(0, 16);
  const folder = join(ROOT_DATA_FOLDER, key);
  await ensureRootOwnedFolder(folder);
  const relocated = join(folder, basename(configured));
  log?.(`the "${user.name}" user cannot enter ${blocked}, so the embedded PostgreSQL keeps its data in ${relocated}`);
  return relocated;
}
