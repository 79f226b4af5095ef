import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { freePort } from '../../support/service-process';
import { OwnedRedis, ping } from './owned-redis';

export const SENTINEL_GROUP = 'fault-primary';

/**
 * Redis as Sentinel runs it: a primary, a replica following it, and one Sentinel (quorum 1) watching them, which
 * promotes the replica a second after the primary stops answering. All real processes on 127.0.0.1.
 */
export class SentinelRedis {
  private constructor(
    readonly primary: OwnedRedis,
    readonly replica: OwnedRedis,
    private readonly sentinel: ChildProcess,
    readonly sentinelPort: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<SentinelRedis> {
    const primary = await OwnedRedis.start();
    const replica = await OwnedRedis.start();
    await replica.follow(primary);
    const dir = await mkdtemp(join(tmpdir(), 'wf-sentinel-'));
    const port = await freePort();
    const config = join(dir, 'sentinel.conf');
    // Sentinel rewrites its file as it learns: it must be its own, and writable.
    await writeFile(
      config,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${SENTINEL_GROUP} 127.0.0.1 ${primary.port} 1`,
        `sentinel down-after-milliseconds ${SENTINEL_GROUP} 1000`,
        `sentinel failover-timeout ${SENTINEL_GROUP} 10000`,
        '',
      ].join('\n'),
    );
    const sentinel = spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' });
    const until = Date.now() + 10_000;
    while (!(await ping(port))) {
      if (sentinel.exitCode !== null || Date.now() > until) throw new Error(`redis-sentinel did not start on ${port}`);
      await sleep(20);
    }
    return new SentinelRedis(primary, replica, sentinel, port, dir);
  }

  /** REDIS_SENTINELS for the service. */
  get sentinels(): string {
    return `127.0.0.1:${this.sentinelPort}`;
  }

  /** The port of the server the Sentinel names as the primary now. */
  async primaryPort(): Promise<number> {
    const client = new Redis(this.sentinelPort, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      const [, port] = (await client.call('SENTINEL', 'get-master-addr-by-name', SENTINEL_GROUP)) as string[];
      return Number(port);
    } finally {
      client.disconnect();
    }
  }

  /** Resolves once the Sentinel names `port` as the primary. */
  async promoted(port: number, timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ((await this.primaryPort()) !== port) {
      if (Date.now() > until) throw new Error(`the Sentinel did not promote the server on ${port}`);
      await sleep(100);
    }
  }

  async destroy(): Promise<void> {
    if (this.sentinel.exitCode === null) {
      const exited = new Promise((resolve) => this.sentinel.once('exit', resolve));
      this.sentinel.kill('SIGKILL');
      await exited;
    }
    await this.replica.destroy();
    await this.primary.destroy();
    await rm(this.dir, { recursive: true, force: true });
  }
}
