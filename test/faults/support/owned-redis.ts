import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { freePort } from '../../support/service-process';

/** Whether a Redis server (or Sentinel) on `port` answers PING. */
export function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(300, () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => (socket.destroy(), resolve(data.toString().startsWith('+PONG'))));
  });
}

/** A redis-server the test owns on a port of its own, so it can stop it (an outage) and start it again. */
export class OwnedRedis {
  private child?: ChildProcess;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<OwnedRedis> {
    if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) {
      throw new Error('redis-server is not installed (Debian/Ubuntu: apt-get install redis-server)');
    }
    const redis = new OwnedRedis(await freePort(), await mkdtemp(join(tmpdir(), 'wf-owned-redis-')));
    await redis.resume();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) on the same port; resolves once it answers PING. */
  async resume(): Promise<void> {
    const child = spawn(
      'redis-server',
      // A folder of its own: a replica writes the primary's snapshot there (dump.rdb), and a server loads one it
      // finds at start.
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir],
      { stdio: 'ignore' },
    );
    this.child = child;
    const until = Date.now() + 10_000;
    while (!(await ping(this.port))) {
      if (child.exitCode !== null || Date.now() > until) throw new Error(`redis-server did not start on ${this.port}`);
      await sleep(20);
    }
  }

  /** One command, on a connection of its own. */
  async command(...args: string[]): Promise<unknown> {
    const client = new Redis(this.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      return await client.call(args[0], ...args.slice(1));
    } finally {
      client.disconnect();
    }
  }

  /** Makes this server a replica of `primary`; resolves once it has the primary's data and follows it. */
  async follow(primary: OwnedRedis): Promise<void> {
    await this.command('REPLICAOF', '127.0.0.1', String(primary.port));
    const until = Date.now() + 10_000;
    while (!/master_link_status:up/.test(String(await this.command('INFO', 'replication')))) {
      if (Date.now() > until) throw new Error(`redis on ${this.port} did not start following ${primary.port}`);
      await sleep(50);
    }
  }

  /** Makes this replica a primary (REPLICAOF NO ONE), as a failover promotes it. */
  async promote(): Promise<void> {
    await this.command('REPLICAOF', 'NO', 'ONE');
  }

  /** Kills the server (SIGKILL: no goodbye to its clients). */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Kills the server and removes its folder. */
  async destroy(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}
