import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedPostgresError } from './embedded-postgres.errors';
import type { PostgresOsUser } from './os-user';

export interface PostgresClusterOptions {
  /** Folder holding `initdb` and `postgres`. */
  readonly bin: string;
  readonly dataDir: string;
  readonly port: number;
  readonly user: PostgresOsUser;
  /** Extra server settings (`-c name=value`). */
  readonly settings?: Readonly<Record<string, string>>;
  /** Our own notes (a leftover server stopped); PostgreSQL's log is kept only for error messages. */
  readonly log?: (line: string) => void;
  /** Called once the server process exists, before it is ready: work that needs no database can run meanwhile. */
  readonly onSpawn?: () => void;
}

export type ClusterAuth =
  { readonly method: 'trust' } | { readonly method: 'scram-sha-256'; readonly password: string };

/** A primary says "ready to accept connections"; a hot standby "ready to accept read-only connections". */
const READY = /database system is ready to accept (read-only )?connections/;

/**
 * One PostgreSQL cluster run from a folder of binaries: initdb, start, stop. The postmaster is our child
 * process, loopback-only, without a Unix socket, and runs as `options.user` (ourselves, or an unprivileged
 * account when we are root). Only the process it started is ever signalled, except a postmaster left behind
 * by a run that died (see `start`).
 */
export class PostgresCluster {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private readonly recentLog: string[] = [];
  private readonly killOnExit = (): void => {
    // Last resort when our process exits without stopping it: an immediate shutdown of our own postmaster.
    if (this.child?.exitCode === null) this.child.kill('SIGQUIT');
  };

  constructor(private readonly options: PostgresClusterOptions) {}

  get dataDir(): string {
    return this.options.dataDir;
  }

  get port(): number {
    return this.options.port;
  }

  get isInitialised(): boolean {
    return existsSync(join(this.options.dataDir, 'PG_VERSION'));
  }

  /** The postmaster's pid while it runs. */
  get pid(): number | undefined {
    return this.child && this.child.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** Creates the cluster (initdb) with one superuser, `postgres`. */
  async initialise(auth: ClusterAuth): Promise<void> {
    const { dataDir, user } = this.options;
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (user.uid !== undefined && user.gid !== undefined) await chown(dataDir, user.uid, user.gid);
    const args = [`--pgdata=${dataDir}`, '--username=postgres', '--encoding=UTF8', '--locale=C', '--no-sync'];
    if (auth.method === 'trust') {
      await this.run('initdb', [...args, '--auth=trust']);
      return;
    }
    // The password reaches initdb in a file only the server's user can read, removed right after.
    const folder = await mkdtemp(join(tmpdir(), 'wf-initdb-'));
    const file = join(folder, 'password');
    try {
      await writeFile(file, `${auth.password}\n`, { mode: 0o600 });
      if (user.uid !== undefined && user.gid !== undefined) {
        await chown(folder, user.uid, user.gid);
        await chown(file, user.uid, user.gid);
      }
      await this.run('initdb', [...args, `--auth=${auth.method}`, `--pwfile=${file}`]);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }

  /**
   * Starts the postmaster and resolves once it accepts connections. A postmaster that an earlier run left
   * behind (its parent died without stopping it) is shut down first; one that belongs to a process still
   * running is not touched, and start-up stops with a message instead.
   */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.pid !== undefined) throw new Error('this PostgreSQL cluster is already running');
    await this.stopLeftover();
    const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: '', ...this.options.settings };
    const child = spawn(
      join(this.options.bin, 'postgres'),
      [
        '-D',
        this.options.dataDir,
        '-p',
        String(this.options.port),
        ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
      ],
      // A process group of its own: Ctrl-C signals the terminal's whole group, and PostgreSQL takes SIGINT for a fast
      // shutdown, which left the service's drain without a database. `stop` and the exit hook stop it instead.
      { ...this.ids(), env: childEnv(), stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    this.child = child;
    this.options.onSpawn?.();
    this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.once('exit', this.killOnExit);
    child.stderr?.setEncoding('utf8');
    let ready = false;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(this.failure(`did not start within ${timeoutMs} ms`)), timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(this.failure(error.message));
      });
      child.stderr?.on('data', (chunk: string) => {
        for (const line of chunk.split('\n').filter(Boolean)) this.remember(line);
        if (!ready && READY.test(chunk)) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
      void this.exited?.then(() => {
        clearTimeout(timer);
        reject(this.failure('exited during start-up'));
      });
    }).catch(async (error: unknown) => {
      await this.stop();
      throw error;
    });
  }

  /** Fast shutdown (sessions are ended, then the server stops); immediate shutdown if that takes too long. */
  async stop(timeoutMs = 15_000): Promise<void> {
    const child = this.child;
    process.removeListener('exit', this.killOnExit);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT');
    const stopped = await Promise.race([
      this.exited?.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
    ]);
    if (!stopped) {
      child.kill('SIGQUIT');
      await this.exited;
    }
  }

  /** Sends a signal to the postmaster (a test's outage: SIGKILL, SIGSTOP, …). */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** Resolves when the postmaster has exited (at once if it is not running). */
  async waitForExit(): Promise<void> {
    await this.exited;
  }

  private async stopLeftover(): Promise<void> {
    const pidFile = join(this.options.dataDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    const leftover = describeProcess(pid);
    // Only the postmaster of this very folder: the id of a stale file may now be anyone's (a psql, another
    // cluster's backend, which SIGQUIT would crash). Anything else is a stale file, which PostgreSQL ignores.
    if (!leftover || !leftover.command.includes(` -D ${this.options.dataDir} `)) return;
    const parent = describeProcess(leftover.parentPid);
    if (parent && leftover.parentPid > 1 && /\bnode\b|main\.js/.test(parent.command)) {
      throw new EmbeddedPostgresError(
        `the embedded PostgreSQL data folder ${this.options.dataDir} is in use by another running instance ` +
          `(pid ${leftover.parentPid}): stop it, or give this one its own EMBEDDED_PG_DATA_DIR and EMBEDDED_PG_PORT`,
      );
    }
    this.options.log?.(`stopping a PostgreSQL server left running by an earlier run (pid ${pid})`);
    process.kill(pid, 'SIGINT');
    const deadline = Date.now() + 15_000;
    while (describeProcess(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    if (describeProcess(pid)) process.kill(pid, 'SIGQUIT');
  }

  private ids(): { uid?: number; gid?: number } {
    const { uid, gid } = this.options.user;
    return uid === undefined || gid === undefined ? {} : { uid, gid };
  }

  private remember(line: string): void {
    this.recentLog.push(line.trim());
    if (this.recentLog.length > 50) this.recentLog.shift();
  }

  /** A start-up failure in one line: what PostgreSQL said last, with advice for the usual causes. */
  private failure(what: string): EmbeddedPostgresError {
    // "2026-12-01 12:25:30.019 UTC [16267] FATAL:  could not …" → "FATAL: could not …"
    const lines = this.recentLog.map((line) => line.replace(/^\S+ \S+ \S+ \[\d+\] /, '').replace(/:\s+/, ': '));
    const said = lines.filter((line) => /^(FATAL|ERROR|PANIC)/.test(line)).slice(-2);
    const { port, dataDir } = this.options;
    const advice = lines.some((line) => /Address already in use/i.test(line))
      ? `: port ${port} is taken; set EMBEDDED_PG_PORT to a free port`
      : lines.some((line) => /Permission denied|wrong ownership|invalid permissions/i.test(line))
        ? `: ${this.options.user.name} cannot use ${dataDir}; remove it or set EMBEDDED_PG_DATA_DIR`
        : lines.some((line) => /lock file "postmaster\.pid" already exists/.test(line))
          ? staleLockAdvice(dataDir)
          : '';
    return new EmbeddedPostgresError(
      `the embedded PostgreSQL ${what} (port ${port}, data in ${dataDir})${said.length ? `: ${said.join(' | ')}` : ''}${advice}`,
    );
  }

  private run(program: string, args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(join(this.options.bin, program), args, {
        ...this.ids(),
        env: childEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.once('error', (error) => reject(new EmbeddedPostgresError(`${program} could not run: ${error.message}`)));
      child.once('exit', (code) => {
        if (code === 0) return resolve();
        const last = output.trim().split('\n').filter(Boolean).slice(-2).join(' | ');
        reject(new EmbeddedPostgresError(`${program} failed for ${this.options.dataDir} (exit ${code}): ${last}`));
      });
    });
  }
}

/** What PostgreSQL needs from the environment, and nothing of ours (no secrets reach the server). */
function childEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LC_ALL: 'C',
    LANG: 'C',
    ...(process.env.TZ && { TZ: process.env.TZ }),
  };
}

/**
 * PostgreSQL refuses a `postmaster.pid` whose process is alive and its user's. The leftover postmaster of this
 * folder is stopped before start-up (`stopLeftover`), so the process is another one that took the id of a file left
 * by a crash or a reboot. The file is not removed here: PostgreSQL also reads from it whether a backend of the
 * old server still holds the folder's shared memory.
 */
function staleLockAdvice(dataDir: string): string {
  const pidFile = join(dataDir, 'postmaster.pid');
  let pid = Number.NaN;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  } catch {
    // gone since: the advice still holds
  }
  const holder = describeProcess(pid);
  const who = holder ? `process ${pid} (${holder.command.trim().slice(0, 80)})` : `process ${pid}`;
  return (
    `: ${pidFile} names ${who}, which is not a PostgreSQL of this folder: the file was left by a crash or a ` +
    `reboot and another process now has its id. If no PostgreSQL runs from ${dataDir} (check \`ps -ef | grep ` +
    `postgres\`), delete ${pidFile} and start again`
  );
}

/** A running process's command line and parent, from /proc; undefined when it is not running. */
function describeProcess(pid: number): { command: string; parentPid: number } | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state, ppid, …
    const parentPid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return { command, parentPid };
  } catch {
    return undefined;
  }
}
