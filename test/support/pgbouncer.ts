import { type ChildProcess, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { postgresOsUser } from '../../src/database/embedded/os-user';
import { freePort } from './service-process';

/** Where PgBouncer is: PGBOUNCER_PATH, or Debian's package (`apt-get install pgbouncer`). */
export const PGBOUNCER_PATH = process.env.PGBOUNCER_PATH || '/usr/sbin/pgbouncer';

/**
 * `describe` when PgBouncer is there. Without it: on CI (CI set) the file fails, saying how to install it;
 * elsewhere it is skipped with a warning, so a newcomer without PgBouncer still gets a green `npm test`.
 */
export function describeWithPgBouncer(): jest.Describe {
  if (existsSync(PGBOUNCER_PATH)) return describe;
  const problem = `PgBouncer is not at ${PGBOUNCER_PATH}: apt-get install pgbouncer (or set PGBOUNCER_PATH)`;
  if (process.env.CI) throw new Error(`${problem}. The PgBouncer tests need it on CI.`);
  console.warn(`${problem}. Skipping the PgBouncer tests.`);
  return describe.skip;
}

export interface OwnedPgBouncer {
  /** `postgres://…` to the database through PgBouncer. */
  readonly url: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * A PgBouncer of the test's own on 127.0.0.1, with its default settings but `pool_mode`, in front of the database
 * `databaseUrl` names (its user and password passed on). It refuses to run as root: as root it runs as the
 * embedded PostgreSQL's system user.
 */
export async function startPgBouncer(
  databaseUrl: string,
  poolMode: 'session' | 'transaction',
): Promise<OwnedPgBouncer> {
  const target = new URL(databaseUrl);
  const user = decodeURIComponent(target.username || 'postgres');
  const password = decodeURIComponent(target.password);
  const database = target.pathname.slice(1);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wf-pgbouncer-'));
  const owner = postgresOsUser();
  writeFileSync(join(dir, 'users.txt'), `"${user}" "${password}"\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${database} = host=${target.hostname} port=${target.port || 5432} dbname=${database} user=${user}` +
        (password ? ` password=${password}` : ''),
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      `auth_type = ${password ? 'plain' : 'trust'}`,
      `auth_file = ${join(dir, 'users.txt')}`,
      `pool_mode = ${poolMode}`,
      'max_client_conn = 200',
      'default_pool_size = 40',
    ].join('\n'),
  );
  if (owner.uid !== undefined && owner.gid !== undefined) {
    for (const file of ['', 'users.txt', 'pgbouncer.ini']) chownSync(join(dir, file), owner.uid, owner.gid);
  }
  const child: ChildProcess = spawn(PGBOUNCER_PATH, [join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(owner.uid !== undefined && { uid: owner.uid, gid: owner.gid }),
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let attempt = 0; !(await accepts(port)); attempt += 1) {
    if (child.exitCode !== null || attempt > 100) {
      await stop();
      throw new Error(`PgBouncer did not start:\n${output}`);
    }
    await sleep(50);
  }
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return { url: url.toString(), output: () => output, stop };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
