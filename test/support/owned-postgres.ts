import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { postgresOsUser } from '../../src/database/embedded/os-user';
import { postgresBinaries } from '../../src/database/embedded/postgres-binaries';
import { PostgresCluster } from '../../src/database/embedded/postgres-cluster';

/**
 * A PostgreSQL server that one test owns outright: its own data folder in a temp dir, its own port, and a
 * postmaster that is this process's child, so the test can stop it (an outage), kill it, and start it again on
 * the same data. It is the service's own embedded cluster runner (the same binaries, the same rules for root),
 * with trust authentication on loopback.
 */
export class OwnedPostgres {
  private constructor(
    readonly parent: string,
    private readonly cluster: PostgresCluster,
  ) {}

  /** Creates and initialises (initdb) a new cluster in a temp dir. */
  static async create(port: number): Promise<OwnedPostgres> {
    const user = postgresOsUser();
    const { bin } = await postgresBinaries(user.uid !== undefined);
    const parent = await mkdtemp(join(tmpdir(), 'wf-owned-pg-'));
    // The server may run as another user (we are root): it must be able to enter the parent folder.
    await chmod(parent, 0o755);
    const cluster = new PostgresCluster({ bin, dataDir: join(parent, 'data'), port, user });
    await cluster.initialise({ method: 'trust' });
    return new OwnedPostgres(parent, cluster);
  }

  get port(): number {
    return this.cluster.port;
  }

  get pid(): number | undefined {
    return this.cluster.pid;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Starts the postmaster; resolves once it accepts connections. */
  start(timeoutMs = 30_000): Promise<void> {
    return this.cluster.start(timeoutMs);
  }

  /** Fast shutdown (SIGINT): sessions are terminated (57P01), then new connections are refused. */
  stop(timeoutMs = 15_000): Promise<void> {
    return this.cluster.stop(timeoutMs);
  }

  /**
   * SIGKILL to the postmaster, the way a crashed host loses it: no shutdown, sessions cut. Its backends notice
   * and exit by themselves; the next `start()` runs crash recovery.
   */
  async kill(): Promise<void> {
    this.cluster.signal('SIGKILL');
    await this.cluster.waitForExit();
  }

  /** Stops the server if it runs and removes its data. */
  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.parent, { recursive: true, force: true });
  }

  async createDatabase(name: string): Promise<string> {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe database name ${name}`);
    const client = new Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }
}
