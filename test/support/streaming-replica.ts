import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { postgresOsUser } from '../../src/database/embedded/os-user';
import { PostgresCluster } from '../../src/database/embedded/postgres-cluster';

const NO_SERVER_TOOLS =
  'no PostgreSQL server with pg_basebackup under /usr/lib/postgresql (apt-get install postgresql)';

/** Debian's PostgreSQL server and tools (`pg_basebackup` is not among the embedded binaries); .ci/run installs them. */
function findDebianPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  return versions
    .map((version) => join(root, version, 'bin'))
    .find((bin) => ['postgres', 'initdb', 'pg_basebackup'].every((tool) => existsSync(join(bin, tool))));
}

function debianPostgresBin(): string {
  const bin = findDebianPostgresBin();
  if (!bin) throw new Error(NO_SERVER_TOOLS);
  return bin;
}

/**
 * `describe` when a primary and a streaming replica can be made here (Debian's PostgreSQL server tools). Without
 * them: on CI (CI set) the file fails, saying how to install them; elsewhere it is skipped with a warning, so a
 * newcomer without them still gets a green `npm test`.
 */
export function describeWithStreamingReplication(): jest.Describe {
  if (findDebianPostgresBin()) return describe;
  if (process.env.CI) throw new Error(`${NO_SERVER_TOOLS}. The replication tests need them on CI.`);
  console.warn(`${NO_SERVER_TOOLS}. Skipping the replication tests.`);
  return describe.skip;
}

/**
 * A primary and a real streaming replica of it (pg_basebackup -R), each its own postmaster that the test can
 * stop, start and slow down (recovery_min_apply_delay), with trust authentication on loopback.
 */
export class StreamingPair {
  private constructor(
    private readonly parent: string,
    readonly primary: PostgresCluster,
    readonly replica: PostgresCluster,
  ) {}

  static async start(primaryPort: number, replicaPort: number): Promise<StreamingPair> {
    const bin = debianPostgresBin();
    const user = postgresOsUser();
    const parent = await mkdtemp(join(tmpdir(), 'wf-replica-'));
    await chmod(parent, 0o755);
    const primary = new PostgresCluster({ bin, dataDir: join(parent, 'primary'), port: primaryPort, user });
    await primary.initialise({ method: 'trust' });
    await primary.start();
    const replicaDir = join(parent, 'replica');
    await mkdir(replicaDir, { mode: 0o700 });
    if (user.uid !== undefined && user.gid !== undefined) await chown(replicaDir, user.uid, user.gid);
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        join(bin, 'pg_basebackup'),
        ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', replicaDir, '-R', '-X', 'stream'],
        { ...(user.uid !== undefined && { uid: user.uid, gid: user.gid }), stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let said = '';
      child.stderr?.on('data', (chunk: Buffer) => (said += chunk.toString()));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pg_basebackup failed: ${said}`))));
    });
    const replica = new PostgresCluster({ bin, dataDir: replicaDir, port: replicaPort, user });
    await replica.start();
    return new StreamingPair(parent, primary, replica);
  }

  url(which: 'primary' | 'replica', database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this[which].port}/${database}`;
  }

  async query<T extends Record<string, unknown>>(which: 'primary' | 'replica', sql: string, params: unknown[] = []) {
    const client = new Client({ connectionString: this.url(which) });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  /**
   * Every commit on the primary waits until the replica has it (`synchronous_standby_names = '*'`), as a bank's
   * cluster runs: a failover then loses no commit a client was told of. Set on the primary only, after the base
   * backup, so the replica, once promoted, does not wait for a standby of its own.
   */
  async replicateSynchronously(): Promise<void> {
    await this.query('primary', "ALTER SYSTEM SET synchronous_standby_names = '*'");
    await this.query('primary', 'SELECT pg_reload_conf()');
    for (let attempt = 0; ; attempt += 1) {
      const rows = await this.query<{ sync_state: string }>('primary', 'SELECT sync_state FROM pg_stat_replication');
      if (rows.some((row) => row.sync_state === 'sync')) return;
      if (attempt >= 100) throw new Error(`the replica did not become synchronous: ${JSON.stringify(rows)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Promotes the replica to a primary (`pg_promote`); resolves once it takes writes. */
  async promote(): Promise<void> {
    const [row] = await this.query<{ promoted: boolean }>('replica', 'SELECT pg_promote(true, 60) AS promoted');
    if (!row?.promoted) throw new Error('the replica was not promoted within 60 s');
  }

  /** The replica applies each commit this long after it was made (0 turns the delay off). */
  async delayReplay(ms: number): Promise<void> {
    await this.query('replica', `ALTER SYSTEM SET recovery_min_apply_delay = '${Math.round(ms)}ms'`);
    await this.query('replica', 'SELECT pg_reload_conf()');
  }

  async close(): Promise<void> {
    await this.replica.stop().catch(() => undefined);
    await this.primary.stop().catch(() => undefined);
    await rm(this.parent, { recursive: true, force: true });
  }
}
