import type { Cluster } from 'ioredis';
import { ClusterSlotListener } from '../../src/common/redis/cluster-slot-listener';
import { clusterNodeOptions, redisClient } from '../../src/common/redis/redis-client';
import { eventually } from '../support/eventually';
import { type RedisClusterForTests, startRedisCluster } from '../support/redis-cluster';

const CHANNEL = '{wf:cache:listener-test}:invalidations';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A listener on CHANNEL of `redis`, and what it reported. */
function listen(redis: RedisClusterForTests) {
  const cluster = redisClient(
    redis.url,
    { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 500 },
    { cluster: true },
  ) as Cluster;
  cluster.on('error', () => undefined);
  const listener = new ClusterSlotListener(cluster, CHANNEL, clusterNodeOptions(redis.url));
  const heard = { messages: [] as string[], subscribed: [] as boolean[], connected: 0, errors: [] as string[] };
  listener.on('message', (message) => heard.messages.push(message));
  listener.on('subscribed', (afterGap) => heard.subscribed.push(afterGap));
  listener.on('connected', () => (heard.connected += 1));
  listener.on('error', (error) => heard.errors.push(String(error)));
  const close = async () => {
    await listener.close();
    cluster.disconnect();
  };
  return { cluster, listener, heard, close };
}

/** Runs `body` with a listener on CHANNEL of the cluster, once Redis confirmed its first subscription; closes it. */
async function withListener(
  redis: RedisClusterForTests,
  body: (listening: ReturnType<typeof listen>) => Promise<void>,
): Promise<void> {
  const listening = listen(redis);
  try {
    await eventually(() => expect(listening.heard.subscribed).toEqual([false]));
    await body(listening);
  } finally {
    await listening.close();
  }
}

/** The node (by port) serving CHANNEL's slot now, as `port` says. */
async function ownerOf(redis: RedisClusterForTests, port: number): Promise<number> {
  const slot = Number(await redis.command(port, 'CLUSTER', 'KEYSLOT', CHANNEL));
  const shards = await redis.command(port, 'CLUSTER', 'SLOTS');
  // --raw prints each range as: start, end, then per node ip, port, id (and hostname fields on newer servers).
  const lines = shards.split('\n');
  for (let index = 0; index + 3 < lines.length; index += 1) {
    const [start, end, , owner] = lines.slice(index, index + 4).map(Number);
    if (Number.isInteger(start) && Number.isInteger(end) && start <= slot && slot <= end && owner > 1024) return owner;
  }
  throw new Error(`no owner of slot ${slot} in:\n${shards}`);
}

/** A Redis Cluster of three masters (`replicas` each) for the describe block this is called in. */
function ownCluster(replicas: 0 | 1): () => RedisClusterForTests {
  let redis: RedisClusterForTests;
  beforeAll(async () => {
    redis = await startRedisCluster({ replicas, nodeTimeoutMs: 1000 });
  }, 60_000);
  afterAll(() => redis?.stop());
  return () => redis;
}

describe('ClusterSlotListener (sharded Pub/Sub on the master serving the channel)', () => {
  describe('three masters without replicas', () => {
    const redisCluster = ownCluster(0);

    it('hears what is published on the channel once Redis confirmed its subscription', async () => {
      const redis = redisCluster();
      await withListener(redis, async ({ cluster, heard }) => {
        expect(heard.connected).toBe(1);
        await cluster.spublish(CHANNEL, 'one');
        await eventually(() => expect(heard.messages).toEqual(['one']));
        expect(heard.errors).toEqual([]);
      });
    });

    it('pauses between attempts while the master of its slot is down with no replica, and listens again once it is back', async () => {
      const redis = redisCluster();
      await withListener(redis, async ({ cluster, heard }) => {
        const master = await ownerOf(redis, redis.ports[0]);
        await redis.kill(master);
        await sleep(3000);
        // 100, 200, 400, 800, 1600 ms: about five attempts in three seconds. ioredis's own sharded subscribers
        // tried some 200 times, with a slot map refresh each.
        const refused = heard.errors.filter((error) => /ECONNREFUSED/.test(error));
        expect(refused.length).toBeGreaterThanOrEqual(2);
        expect(refused.length).toBeLessThanOrEqual(8);
        await redis.restart(master);
        await eventually(() => expect(heard.subscribed).toEqual([false, true]), 15_000);
        await eventually(async () => expect(await cluster.spublish(CHANNEL, 'back')).toBeGreaterThan(0), 15_000);
        await eventually(() => expect(heard.messages).toContain('back'));
      });
    }, 60_000);
  });

  describe('three masters, each with a replica', () => {
    const redisCluster = ownCluster(1);

    it('leaves a replica that an out-of-date slot map named, for the master the map names once asked again', async () => {
      const redis = redisCluster();
      const master = await ownerOf(redis, redis.ports[0]);
      const masterId = (await redis.command(master, 'CLUSTER', 'MYID')).trim();
      const replica = Number(/:(\d+)@/.exec(await redis.command(master, 'CLUSTER', 'REPLICAS', masterId))?.[1]);
      const slot = Number(await redis.command(master, 'CLUSTER', 'KEYSLOT', CHANNEL));
      // The cluster client as the listener sees it, with a slot map from before a failover: the slot's master is
      // the node that is a replica now. Asked again, it names the master.
      const slots: string[][] = [];
      slots[slot] = [`127.0.0.1:${replica}`];
      let refreshes = 0;
      const stale = {
        status: 'ready',
        slots,
        cluster: () => Promise.resolve(slot),
        refreshSlotsCache: (done: () => void) => {
          refreshes += 1;
          slots[slot] = [`127.0.0.1:${master}`];
          done();
        },
      };
      const listener = new ClusterSlotListener(stale as unknown as Cluster, CHANNEL, clusterNodeOptions(redis.url));
      const subscribed: boolean[] = [];
      listener.on('subscribed', (afterGap) => subscribed.push(afterGap));
      listener.on('error', () => undefined);
      try {
        await eventually(() => expect(subscribed).toEqual([false]));
        expect(refreshes).toBe(1);
        expect(await redis.command(master, 'PUBSUB', 'SHARDNUMSUB', CHANNEL)).toMatch(/\n1\s*$/);
        expect(await redis.command(replica, 'PUBSUB', 'SHARDNUMSUB', CHANNEL)).toMatch(/\n0\s*$/);
      } finally {
        await listener.close();
      }
    });

    it('moves to the new master when a manual failover makes the old one a replica (Redis unsubscribes it there)', async () => {
      const redis = redisCluster();
      await withListener(redis, async ({ cluster, heard }) => {
        const master = await ownerOf(redis, redis.ports[0]);
        const masterId = (await redis.command(master, 'CLUSTER', 'MYID')).trim();
        const replicas = await redis.command(master, 'CLUSTER', 'REPLICAS', masterId);
        const replica = Number(/:(\d+)@/.exec(replicas)?.[1]);
        expect(await redis.command(replica, 'CLUSTER', 'FAILOVER')).toMatch(/OK/);
        await eventually(async () => expect(await ownerOf(redis, master)).toBe(replica), 15_000);
        // The old master is alive, now a replica that would take SSUBSCRIBE again and pass messages on late: Redis
        // unsubscribed the listener there, which then connects to the new master (a gap: `subscribed` after one).
        await eventually(() => expect(heard.subscribed).toEqual([false, true]), 10_000);
        expect(await redis.command(replica, 'PUBSUB', 'SHARDNUMSUB', CHANNEL)).toMatch(/\n1\s*$/);
        expect(await redis.command(master, 'PUBSUB', 'SHARDNUMSUB', CHANNEL)).toMatch(/\n0\s*$/);
        await eventually(async () => expect(await cluster.spublish(CHANNEL, 'moved')).toBeGreaterThan(0), 10_000);
        await eventually(() => expect(heard.messages).toContain('moved'));
      });
    }, 60_000);
  });
});
