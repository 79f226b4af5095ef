import { appendFile, chmod, chown, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
  private certs?: string;

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

  /**
   * Serves TLS only, with `certs`' server.crt and server.key (CN localhost, IP 127.0.0.1), and asks every client
   * for a certificate signed by its ca.crt (then trust, as without TLS). Before `start()`: the settings are read
   * then. Afterwards `url()` is refused ("no encryption"): connect with `tlsUrl()`.
   */
  async requireTls(certs: string): Promise<void> {
    const dataDir = join(this.parent, 'data');
    const { uid, gid } = postgresOsUser();
    for (const file of ['server.crt', 'server.key', 'ca.crt']) {
      await copyFile(join(certs, file), join(dataDir, file));
      // The server refuses a key others can read; as root it runs as another user, who must own it.
      if (uid !== undefined && gid !== undefined) await chown(join(dataDir, file), uid, gid);
      await chmod(join(dataDir, file), 0o600);
    }
    await appendFile(
      join(dataDir, 'postgresql.conf'),
      "\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'ca.crt'\n",
    );
    await writeFile(join(dataDir, 'pg_hba.conf'), 'hostssl all all 127.0.0.1/32 trust clientcert=verify-ca\n');
    this.certs = certs;
  }

  /** A URL that verifies the server's certificate and presents the client's, as a bank's DATABASE_URL would. */
  tlsUrl(database: string, overrides: Partial<Record<'sslrootcert' | 'sslcert' | 'sslkey', string>> = {}): string {
    const certs = this.certs ?? '';
    const params = new URLSearchParams({
      sslmode: 'verify-full',
      sslrootcert: join(certs, 'ca.crt'),
      sslcert: join(certs, 'client.crt'),
      sslkey: join(certs, 'client.key'),
      ...overrides,
    });
    return `${this.url(database)}?${params.toString()}`;
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
    const client = new Client({ connectionString: this.adminUrl('postgres') });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return this.adminUrl(name);
  }

  /** Over TLS once `requireTls` was called. */
  adminUrl(database: string): string {
    return this.certs ? this.tlsUrl(database) : this.url(database);
  }
}
