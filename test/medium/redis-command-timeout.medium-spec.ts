import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { Cluster } from 'ioredis';
import { redisClient, type RedisConnection } from '../../src/common/redis/redis-client';
import { type RedisClusterForTests, startRedisCluster } from '../support/redis-cluster';
import { testRedisUrl } from '../support/redis';

const COMMAND_TIMEOUT_MS = 100;

/** Holds the event loop as a long GC pause or a burst of synchronous work on starved cores does. */
function holdEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    /* busy */
  }
}

async function ready(redis: RedisConnection): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    redis.once('ready', resolve);
    redis.once('end', () => reject(new Error('the connection ended before it was ready')));
  });
}

/**
 * REDIS_URL's commands have a timeout (rate limits, cache, replay window, sign-in back-off): a command Redis answered
 * in time is never failed because our own process was busy when the time was up, and one it does not answer is.
 */
describe('Redis command timeout (real Redis)', () => {
  it('takes a reply that came while the process was held up past the timeout', async () => {
    const redis = redisClient(testRedisUrl(), {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
    });
    try {
      await ready(redis);
      const key = `wf-test:command-timeout:${process.pid}:${Date.now()}`;
      const counted = redis.incr(key);
      const answered = redis.ping();
      // Redis answers within a millisecond; the replies wait in the socket while the loop is held past the timeout.
      holdEventLoop(COMMAND_TIMEOUT_MS * 4);
      await expect(counted).resolves.toBe(1);
      await expect(answered).resolves.toBe('PONG');
      await redis.del(key);
    } finally {
      redis.disconnect();
    }
  });

  it('fails a command the server does not answer with "Command timed out"', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const redis = redisClient(`redis://127.0.0.1:${port}`, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      enableReadyCheck: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
    });
    redis.on('error', () => undefined);
    try {
      await ready(redis);
      await expect(redis.ping()).rejects.toThrow('Command timed out');
    } finally {
      redis.disconnect();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  describe('on a Redis Cluster', () => {
    let cluster: RedisClusterForTests;
    beforeAll(async () => {
      cluster = await startRedisCluster({ replicas: 0 });
    }, 60_000);
    afterAll(() => cluster?.stop());

    it('takes a reply that came while the process was held up past the timeout', async () => {
      const redis = redisClient(
        cluster.url,
        { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: COMMAND_TIMEOUT_MS },
        { cluster: true },
      ) as Cluster;
      redis.on('error', () => undefined);
      try {
        await ready(redis);
        const keys = ['{a}', '{b}', '{c}'].map((tag) => `wf-test:${tag}:command-timeout`);
        // Keys spread over the three masters; the first command to each opens its connection (not timed here).
        await Promise.all(keys.map((key) => redis.del(key)));
        const written = keys.map((key) => redis.set(key, 'v'));
        holdEventLoop(COMMAND_TIMEOUT_MS * 4);
        await expect(Promise.all(written)).resolves.toEqual(['OK', 'OK', 'OK']);
      } finally {
        redis.disconnect();
      }
    });
  });
});
