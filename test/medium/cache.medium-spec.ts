import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { Pool } from 'pg';
import Redis from 'ioredis';
import { type CacheRegion, ReadThroughCache } from '../../src/cache/read-through-cache';
import { Deadline } from '../../src/common/deadline';
import { runInWorkScope } from '../../src/common/work-scope';
import { AppConfig } from '../../src/config';
import { type NotificationChannel, PgNotifications } from '../../src/database/pg-notifications';
import { PgPools } from '../../src/database/pg-pools';
import { FaultProxy } from '../faults/support/fault-proxy';
import { eventually } from '../support/eventually';
import { type PrivateRedis, startPrivateRedis, testRedisUrl } from '../support/redis';
import { freePort } from '../support/service-process';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { testPool } from './support/test-pool';

/** The replicas' listening connections (their notification connections), as pg_stat_activity shows them. */
const LISTENER = "application_name = 'webhook-fulfillment-notifications'";

const settings = { enabled: true, localMaxEntries: 1000, localTtlMs: 60_000, maxTtlMs: 60_000 };
/** A region whose reads see every write committed on any replica before they began. */
const EXACT = { scope: 'customer', ttlMs: 30_000, exactAcrossReplicas: true };

/** The cache stores in Redis without waiting: this waits until the namespace holds `count` entries. */
async function storedInRedis(namespace: string, count: number): Promise<void> {
  const redis = new Redis(testRedisUrl());
  try {
    await eventually(async () => expect(await redis.keys(`wf:cache:${namespace}:v:*`)).toHaveLength(count));
  } finally {
    redis.disconnect();
  }
}

/**
 * Thirty writes of `customer` on `writer`, each followed at once by a read on `reader` (the turn after the writer
 * answered): the reads that did not see their write.
 */
async function staleReadsAfterWrites(
  writer: ReadThroughCache,
  reader: CacheRegion<string>,
  customer: string,
): Promise<string[]> {
  const stale: string[] = [];
  for (let write = 1; write <= 30; write++) {
    await writer.invalidate([{ kind: 'customer', id: customer }]);
    const seen = await reader.read(customer, [], () => Promise.resolve(String(write)));
    if (seen !== String(write)) stale.push(`write ${write}: read ${seen}`);
  }
  return stale;
}

const ready = (cache: ReadThroughCache) =>
  eventually(() => expect((cache as unknown as { shared: { available: boolean } }).shared.available).toBe(true));

describe('ReadThroughCache with Redis (two replicas)', () => {
  const open: ReadThroughCache[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((cache) => cache.onApplicationShutdown()));
  });

  /** Caches of `count` replicas (two unless told) on the test's Redis, in a namespace of their own; closed after the test. */
  function replicas(count = 2): [ReadThroughCache[], string] {
    const namespace = `test-${randomUUID()}`;
    const caches = Array.from({ length: count }, () => ReadThroughCache.of({ ...settings, namespace }, testRedisUrl()));
    open.push(...caches);
    return [caches, namespace];
  }

  it("shares a load through Redis, and a write on one replica reaches the other's in-process tier", async () => {
    const [[a, b], namespace] = replicas();
    await Promise.all([ready(a), ready(b)]);
    const balancesA = a.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    const balancesB = b.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    let row = 'balance 100';
    let loads = 0;
    const load = () => {
      loads++;
      return Promise.resolve(row);
    };
    expect(await balancesA.read('C-1', ['checking'], load)).toBe('balance 100');
    await storedInRedis(namespace, 1);
    expect(await balancesB.read('C-1', ['checking'], load)).toBe('balance 100');
    expect(loads).toBe(1); // B found A's entry in Redis

    for (let write = 1; write <= 20; write++) {
      row = `balance ${100 + write}`;
      await a.invalidate([{ kind: 'customer', id: 'C-1' }]);
      // B's in-process entry goes when the notification arrives (here in the same process, so no order between
      // A's reply and B's message is promised; across processes the e2e test reads B right after A answers).
      // B's Redis entry is of an old generation already.
      await eventually(async () => expect(await balancesB.read('C-1', ['checking'], load)).toBe(row), 2000);
    }
  });

  it('an exact region reads the write at once, the next read after the writer answered (no waiting for the message)', async () => {
    const [[a, b]] = replicas();
    await Promise.all([ready(a), ready(b)]);
    a.define<string>('balances', EXACT);
    const balancesB = b.define<string>('balances', EXACT);
    expect(await balancesB.read('C-1', [], () => Promise.resolve('0'))).toBe('0');
    expect(await staleReadsAfterWrites(a, balancesB, 'C-1')).toEqual([]);
  });

  it('drops what it cached in process before its subscription took effect (a write then would have gone unheard)', async () => {
    const [[early]] = replicas(1);
    const balances = early.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    // Read before Redis is even connected: no invalidation could have reached this replica yet.
    expect(await balances.read('C-9', [], () => Promise.resolve('read before subscribing'))).toBe(
      'read before subscribing',
    );
    await eventually(async () =>
      expect(await balances.read('C-9', [], () => Promise.resolve('read once subscribed'))).toBe(
        'read once subscribed',
      ),
    );
  });

  it('an entry loaded before a write and stored after it is never served (Redis generations)', async () => {
    const [[a, b], namespace] = replicas();
    await Promise.all([ready(a), ready(b)]);
    const balancesA = a.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    const balancesB = b.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    let release!: () => void;
    const slow = balancesA.read(
      'C-1',
      [],
      () => new Promise<string>((resolve) => (release = () => resolve('before the write'))),
    );
    await eventually(() => expect(release).toBeDefined());
    await b.invalidate([{ kind: 'customer', id: 'C-1' }]);
    release();
    expect(await slow).toBe('before the write');
    await storedInRedis(namespace, 1);
    expect(await balancesB.read('C-1', [], () => Promise.resolve('after the write'))).toBe('after the write');
    await eventually(async () =>
      expect(await balancesA.read('C-1', [], () => Promise.resolve('after the write'))).toBe('after the write'),
    );
  });

  it('loads once per replica for concurrent misses, and keys never cross customers', async () => {
    const [[a, b]] = replicas();
    await Promise.all([ready(a), ready(b)]);
    const ordersA = a.define<string>('orders', { scope: 'customer', ttlMs: 30_000 });
    const ordersB = b.define<string>('orders', { scope: 'customer', ttlMs: 30_000 });
    let loads = 0;
    const slowLoad = (value: string) => async () => {
      loads++;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return value;
    };
    const reads = [
      ...Array.from({ length: 20 }, () => ordersA.read('C-1', ['A-1'], slowLoad('C-1 A-1'))),
      ...Array.from({ length: 20 }, () => ordersB.read('C-1', ['A-1'], slowLoad('C-1 A-1'))),
    ];
    expect(new Set(await Promise.all(reads))).toEqual(new Set(['C-1 A-1']));
    expect(loads).toBeLessThanOrEqual(2);
    expect(await ordersB.read('C-1:A-1', [], () => Promise.resolve('other customer'))).toBe('other customer');
    expect(await ordersA.read('C-2', ['A-1'], () => Promise.resolve('C-2 A-1'))).toBe('C-2 A-1');
    expect(await ordersB.read('C-1', ['A-1'], () => Promise.resolve('wrong'))).toBe('C-1 A-1');
  });

  it('gives up every Redis entry stored before its subscription was cut (writes meanwhile may not have bumped a generation)', async () => {
    const [[a, b], namespace] = replicas();
    await Promise.all([ready(a), ready(b)]);
    const balancesA = a.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    const balancesB = b.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    expect(await balancesA.read('C-1', [], () => Promise.resolve('before the cut'))).toBe('before the cut');
    await storedInRedis(namespace, 1);
    const admin = new Redis(testRedisUrl());
    try {
      // Every subscriber connection of this Redis is cut; both caches subscribe again by themselves.
      await admin.client('KILL', 'TYPE', 'pubsub');
      await eventually(async () => expect(Number(await admin.get(`wf:cache:${namespace}:epoch`))).toBeGreaterThan(0));
    } finally {
      admin.disconnect();
    }
    await Promise.all([ready(a), ready(b)]);
    expect(await balancesB.read('C-1', [], () => Promise.resolve('read again'))).toBe('read again');
    expect(await balancesA.read('C-1', [], () => Promise.resolve('read again'))).toBe('read again');
  });

  it('copies an entry from Redis into its in-process tier for no longer than the entry has left there (its TTL runs from its load)', async () => {
    const [[a, b], namespace] = replicas();
    await Promise.all([ready(a), ready(b)]);
    const ordersA = a.define<string>('orders', { scope: 'customer', ttlMs: 3000 });
    const ordersB = b.define<string>('orders', { scope: 'customer', ttlMs: 3000 });
    expect(await ordersA.read('C-1', ['O-1'], () => Promise.resolve('not shipped'))).toBe('not shipped');
    await storedInRedis(namespace, 1);
    const redis = new Redis(testRedisUrl());
    try {
      const [valueKey] = await redis.keys(`wf:cache:${namespace}:v:*`);
      // Late in the entry's life, B reads it from Redis.
      await eventually(async () => expect(await redis.pttl(valueKey)).toBeLessThan(1500), 5000);
      expect(await ordersB.read('C-1', ['O-1'], () => Promise.resolve('shipped'))).toBe('not shipped');
      // Shipped outside the service: every replica sees it once the entry's TTL is over.
      await eventually(async () => expect(await redis.exists(valueKey)).toBe(0), 5000);
      expect(await ordersB.read('C-1', ['O-1'], () => Promise.resolve('shipped'))).toBe('shipped');
    } finally {
      redis.disconnect();
    }
  });

  it('counts what an entry has left in Redis from when it asked, not from when a held-up event loop read the answer', async () => {
    const [[a, b], namespace] = replicas();
    await Promise.all([ready(a), ready(b)]);
    const ordersA = a.define<string>('orders', { scope: 'customer', ttlMs: 2000 });
    const ordersB = b.define<string>('orders', { scope: 'customer', ttlMs: 2000 });
    expect(await ordersA.read('C-1', ['O-1'], () => Promise.resolve('not shipped'))).toBe('not shipped');
    await storedInRedis(namespace, 1);
    // B's next read is sent, then its event loop is held for a second while the answer waits on the socket.
    const client = (b as unknown as { shared: { client: Redis } }).shared.client;
    const pipeline = client.pipeline.bind(client);
    jest.spyOn(client, 'pipeline').mockImplementationOnce(() => {
      const commands = pipeline();
      const exec = commands.exec.bind(commands);
      commands.exec = () => {
        const answers = exec();
        const heldUntil = performance.now() + 1000;
        while (performance.now() < heldUntil);
        return answers;
      };
      return commands;
    });
    const redis = new Redis(testRedisUrl());
    try {
      const [valueKey] = await redis.keys(`wf:cache:${namespace}:v:*`);
      expect(await ordersB.read('C-1', ['O-1'], () => Promise.resolve('shipped'))).toBe('not shipped');
      // Gone from Redis: B's copy is gone too (it lived a second longer when counted from the answer's reading).
      await eventually(async () => expect(await redis.exists(valueKey)).toBe(0), 5000);
      expect(await ordersB.read('C-1', ['O-1'], () => Promise.resolve('shipped'))).toBe('shipped');
    } finally {
      redis.disconnect();
    }
  });

  it('without Redis (refused connections) every read goes to the loader or the in-process tier, and a write still invalidates', async () => {
    const closed: Server = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const cache = ReadThroughCache.of({ ...settings, namespace: 'down' }, `redis://127.0.0.1:${port}`);
    open.push(cache);
    const balances = cache.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    expect(await balances.read('C-1', [], () => Promise.resolve('first'))).toBe('first');
    expect(await balances.read('C-1', [], () => Promise.resolve('unused'))).toBe('first');
    await cache.invalidate([{ kind: 'customer', id: 'C-1' }]);
    expect(await balances.read('C-1', [], () => Promise.resolve('second'))).toBe('second');
  });
});

describe('ReadThroughCache across replicas through PostgreSQL LISTEN/NOTIFY (no Redis)', () => {
  let database: TestDatabase;
  let pool: Pool;
  const notifiers: PgNotifications[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = testPool({ connectionString: database.url, max: 4 });
  });
  // Each test counts the listening connections of its own replicas: the others' are closed after each.
  afterEach(async () => {
    await Promise.all(notifiers.splice(0).map((n) => n.onApplicationShutdown()));
  });
  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  const listeningConnections = async () =>
    (
      await pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND ${LISTENER}`,
      )
    ).rows[0].n;

  function replica(): ReadThroughCache {
    const config = Object.assign(Object.create(AppConfig.prototype) as AppConfig, {
      database: { url: database.url, statementTimeoutMs: 3000 },
    });
    const notifications = new PgNotifications(config, PgPools.of(pool));
    notifiers.push(notifications);
    const cache = ReadThroughCache.of(settings);
    cache.useFallbackChannel(notifications.channel('wf_cache_test'));
    return cache;
  }

  it('drops what it cached before its LISTEN took effect (a write then would have gone unheard)', async () => {
    const early = replica();
    const balances = early.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    // Read before the listening connection is even open: no notification could have reached this replica yet.
    expect(await balances.read('C-9', [], () => Promise.resolve('read before listening'))).toBe(
      'read before listening',
    );
    await eventually(async () =>
      expect(await balances.read('C-9', [], () => Promise.resolve('read once listening'))).toBe('read once listening'),
    );
  });

  it("drops another replica's entries when a write commits, and drops everything after the channel was cut", async () => {
    const [a, b] = [replica(), replica()];
    const balancesB = b.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    a.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    await eventually(async () => expect(await listeningConnections()).toBe('2'));
    expect(await balancesB.read('C-1', [], () => Promise.resolve('old'))).toBe('old');
    await a.invalidate([{ kind: 'customer', id: 'C-1' }]);
    await eventually(async () => expect(await balancesB.read('C-1', [], () => Promise.resolve('new'))).toBe('new'));

    // A cut listening connection may have missed notifications: after it is back, nothing old is served.
    expect(await balancesB.read('C-2', [], () => Promise.resolve('cached before the cut'))).toBe(
      'cached before the cut',
    );
    await pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND ${LISTENER}`,
    );
    await eventually(async () => expect(await listeningConnections()).toBe('2'), 10_000);
    await eventually(async () =>
      expect(await balancesB.read('C-2', [], () => Promise.resolve('read again'))).toBe('read again'),
    );
  });

  it('an exact region reads the write at once, the next read after the writer answered (no waiting for the message)', async () => {
    const [a, b] = [replica(), replica()];
    a.define<string>('balances', EXACT);
    const balancesB = b.define<string>('balances', EXACT);
    await eventually(async () => expect(await listeningConnections()).toBe('2'));
    await eventually(async () => expect(await balancesB.read('C-3', [], () => Promise.resolve('0'))).toBe('0'));
    expect(await staleReadsAfterWrites(a, balancesB, 'C-3')).toEqual([]);
  });
});

describe("ReadThroughCache through PostgreSQL when a write's notification is not taken at once (no Redis)", () => {
  let database: TestDatabase;
  let pool: Pool;
  const closing: (() => Promise<unknown>)[] = [];
  const channels: NotificationChannel[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = testPool({ connectionString: database.url, max: 4 });
  });
  afterEach(async () => {
    channels.splice(0);
    for (const close of closing.splice(0).reverse()) await close();
  });
  afterAll(async () => {
    await pool.end();
    await database.drop();
  });

  const configFor = (url: string, extra: object = {}) =>
    Object.assign(Object.create(AppConfig.prototype) as AppConfig, {
      database: { url, statementTimeoutMs: 3000, ...extra },
    });

  /** A replica's cache whose notifications go through `pools` to the database at `url`. */
  function replica(url: string, pools: PgPools, config = configFor(url)): ReadThroughCache {
    const notifications = new PgNotifications(config, pools);
    const cache = ReadThroughCache.of(settings);
    const channel = notifications.channel('wf_cache_untaken');
    cache.useFallbackChannel(channel);
    channels.push(channel);
    closing.push(
      () => notifications.onApplicationShutdown(),
      () => cache.onApplicationShutdown(),
    );
    return cache;
  }

  /** Every replica's LISTEN has taken effect (the listening connection also sends, so its last query is not it). */
  const listening = () => eventually(() => expect(channels.map((channel) => channel.listening())).not.toContain(false));

  /** How many other replicas `cache` has heard say they are there. */
  const heardBy = (cache: ReadThroughCache) =>
    (cache as unknown as { peers: { heardAt: Map<string, number> } }).peers.heardAt.size;

  /** What B, exact, reads of customer C-1 once its database balance is `balance`. */
  const readOn = (balances: CacheRegion<string>, balance: string) =>
    balances.read('C-1', [], () => Promise.resolve(balance));

  it("a transfer whose intent holds its lane's share of the pool, near its deadline, tells the other replicas before it is answered", async () => {
    // As the app builds it: every checkout passes the pool's gate; one lane may hold half of two connections.
    const config = configFor(database.url, { poolSize: 2, poolLaneShare: 0.5 });
    const pools = new PgPools(config);
    const gated = new (pools.driver().Pool)({ connectionString: database.url, max: 2 });
    closing.push(() => gated.end());
    const a = replica(database.url, pools, config);
    const b = replica(database.url, PgPools.of(pool));
    a.define<string>('balances', EXACT);
    const balancesB = b.define<string>('balances', EXACT);
    await listening();
    await eventually(async () => expect(await readOn(balancesB, '100.00')).toBe('100.00'));

    await runInWorkScope({ lane: 'TransferFunds', deadline: Deadline.after(300) }, async () => {
      const other = await gated.connect(); // another customer's transfer holds the lane's one connection
      try {
        // This transfer has committed: the repository invalidates before the turn is answered.
        await a.invalidate([{ kind: 'customer', id: 'C-1' }]);
      } finally {
        other.release();
      }
    });
    expect(await readOn(balancesB, '90.00')).toBe('90.00');
  });

  /**
   * Replica A (the writer) reaches PostgreSQL through a fault proxy, replica B directly; both hold `balances`. B's
   * remote writes are noted in `told`.
   */
  async function writerBehindProxy() {
    const proxy = await FaultProxy.start(Number(new URL(database.url).port || 5432));
    closing.push(() => proxy.close());
    const proxied = new URL(database.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    const poolA = testPool({ connectionString: proxied.toString(), max: 2 });
    closing.push(() => poolA.end());
    const a = replica(proxied.toString(), PgPools.of(poolA));
    const b = replica(database.url, PgPools.of(pool));
    const told: string[] = [];
    b.onRemoteWrite((_scopes, position) => told.push(position));
    a.define<string>('balances', EXACT);
    const balancesB = b.define<string>('balances', EXACT);
    await listening();
    return { proxy, a, b, told, balancesB };
  }

  it("the writer's path to PostgreSQL resets for a moment: the notification is sent again, and the next read on another replica sees the write", async () => {
    const { proxy, a, b, told, balancesB } = await writerBehindProxy();
    await eventually(() => expect(heardBy(b)).toBe(1));
    await eventually(async () => expect(await readOn(balancesB, '100.00')).toBe('100.00'));

    proxy.reset(); // every connection of the writer's, and each new one, is reset: its first notification fails
    const writing = a.invalidate([{ kind: 'customer', id: 'C-1' }], '0/3000060');
    await new Promise((resolve) => setTimeout(resolve, 300));
    proxy.heal();
    await writing;
    expect(await readOn(balancesB, '90.00')).toBe('90.00');
    await eventually(() => expect(told).toContain('0/3000060'));
  });

  it('a writer cut off from PostgreSQL for longer is answered while it still cannot notify, and the other replica trusts nothing until it hears from it', async () => {
    const { proxy, a, b, told, balancesB } = await writerBehindProxy();
    // B knows A is there (A says so every second): A's silence is what will tell it.
    await eventually(() => expect(heardBy(b)).toBe(1));
    await eventually(async () => expect(await readOn(balancesB, '100.00')).toBe('100.00'));

    proxy.reset();
    await a.invalidate([{ kind: 'customer', id: 'C-1' }], '0/3000060');
    expect(told).not.toContain('0/3000060'); // still held by the writer
    expect(await readOn(balancesB, '90.00')).toBe('90.00');

    proxy.heal();
    await eventually(() => expect(told).toContain('0/3000060'), 15_000);
  });
});

describe('Redis keys of the cache', () => {
  it('live in the namespace, and generations outlive the entries (2 × CACHE_MAX_TTL_MS)', async () => {
    const namespace = `test-${randomUUID()}`;
    const cache = ReadThroughCache.of({ ...settings, namespace }, testRedisUrl());
    await ready(cache);
    const balances = cache.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    await balances.read('C-1', [], () => Promise.resolve('value'));
    await cache.invalidate([{ kind: 'customer', id: 'C-1' }]);
    const redis = new Redis(testRedisUrl());
    try {
      const keys = await eventually(async () => {
        const found = await redis.keys(`wf:cache:${namespace}:*`);
        // The scope's generation, the entry, and the namespace's epoch (moved on by every replica as it starts).
        expect(found).toHaveLength(3);
        return found;
      });
      const generation = keys.find((key) => key.includes(':g:')) as string;
      const value = keys.find((key) => key.includes(':v:')) as string;
      expect(await redis.pttl(generation)).toBeGreaterThan(60_000);
      expect(await redis.pttl(value)).toBeLessThanOrEqual(30_000);
      expect(keys).toContain(`wf:cache:${namespace}:epoch`);
    } finally {
      redis.disconnect();
      await cache.onApplicationShutdown();
    }
  });
});

describe('Redis generations and write positions under eviction and races', () => {
  const open: ReadThroughCache[] = [];
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((cache) => cache.onApplicationShutdown()));
  });
  afterAll(() => redis.disconnect());

  function replica(namespace: string): ReadThroughCache {
    const cache = ReadThroughCache.of({ ...settings, namespace }, testRedisUrl());
    open.push(cache);
    return cache;
  }
  const customer = { kind: 'customer', id: 'C-1' } as const;
  const generationKey = (namespace: string) => `wf:cache:${namespace}:g:["customer","C-1"]`;
  const positionKey = (namespace: string) => `wf:cache:${namespace}:p:["customer","C-1"]`;

  it('never serves an entry again after its generation was evicted (a missing generation is no generation 0)', async () => {
    const namespace = `test-${randomUUID()}`;
    const [a, b] = [replica(namespace), replica(namespace)];
    await Promise.all([ready(a), ready(b)]);
    const balancesA = a.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    const balancesB = b.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    expect(await balancesA.read('C-1', [], () => Promise.resolve('before any write'))).toBe('before any write');
    await storedInRedis(namespace, 1);
    // Under memory pressure Redis evicts the generation (it has a TTL, so volatile-lru may take it), the entry stays.
    await redis.del(generationKey(namespace));
    expect(await balancesB.read('C-1', [], () => Promise.resolve('read again'))).toBe('read again');

    // The same after a write: the generation a write starts is random, never 1 again for an entry stamped 1.
    await a.invalidate([customer]);
    await redis.del(generationKey(namespace));
    await a.invalidate([customer]);
    const generation = Number(await redis.get(generationKey(namespace)));
    expect(generation).toBeGreaterThan(2);
  });

  it('keeps the furthest write position next to the generation, for a replica that has not heard of the write', async () => {
    const namespace = `test-${randomUUID()}`;
    const writer = replica(namespace);
    await ready(writer);
    await writer.invalidate([customer], '0/3000000');
    await writer.invalidate([customer], '0/2000000'); // an earlier write whose invalidation came late
    expect(await redis.get(positionKey(namespace))).toBe('0/3000000');
    expect(await redis.pttl(positionKey(namespace))).toBeGreaterThan(60_000);

    // A replica that started after the write (so no message told it) learns the position from its first read.
    const later = replica(namespace);
    const told: [readonly string[], string][] = [];
    later.onRemoteWrite((scopes, position) => told.push([scopes, position]));
    await ready(later);
    const balances = later.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    await balances.read('C-1', [], () => Promise.resolve('value'));
    expect(told).toEqual([[['["customer","C-1"]'], '0/3000000']]);
  });

  it('an unknown write position sends reads to the primary for a minute, and a known one does not replace it', async () => {
    const namespace = `test-${randomUUID()}`;
    const writer = replica(namespace);
    await ready(writer);
    await writer.invalidate([customer], '0/3000000');
    await writer.invalidate([customer], 'unknown');
    await writer.invalidate([customer], '0/4000000');
    expect(await redis.get(positionKey(namespace))).toBe('unknown');
    expect(await redis.pttl(positionKey(namespace))).toBeLessThanOrEqual(60_000);
  });
});

describe('ReadThroughCache on a Redis that serves reads but refuses writes (a demoted primary after a failover, a full one)', () => {
  let redis: PrivateRedis;
  let database: TestDatabase;
  let pool: Pool;
  const notifiers: PgNotifications[] = [];
  const open: ReadThroughCache[] = [];

  beforeAll(async () => {
    // A redis-server of its own: this one is made a replica and back.
    redis = await startPrivateRedis();
    database = await createTestDatabase();
    pool = testPool({ connectionString: database.url, max: 4 });
  });
  afterAll(async () => {
    await Promise.all(open.map((cache) => cache.onApplicationShutdown()));
    await Promise.all(notifiers.map((n) => n.onApplicationShutdown()));
    await pool.end();
    await database.drop();
    await redis?.stop();
  });

  /** A replica's cache on the private Redis, with PostgreSQL as the channel for writes Redis did not take. */
  function replica(namespace: string): ReadThroughCache {
    const config = Object.assign(Object.create(AppConfig.prototype) as AppConfig, {
      database: { url: database.url, statementTimeoutMs: 3000 },
    });
    const notifications = new PgNotifications(config, PgPools.of(pool));
    notifiers.push(notifications);
    const cache = ReadThroughCache.of({ ...settings, namespace }, redis.url);
    cache.useFallbackChannel(notifications.channel('wf_cache_demoted'));
    open.push(cache);
    return cache;
  }

  /**
   * The LISTEN of `count` replicas has taken effect (their listening connections also send, so pg_stat_activity's
   * last query of each is not it).
   */
  const listeningOn = (count: number) =>
    eventually(() =>
      expect(notifiers.filter((notifier) => notifier.channel('wf_cache_demoted').listening())).toHaveLength(count),
    );

  it('never serves an entry whose invalidation Redis refused (READONLY, OOM), on the writer or another replica, and shares again once Redis takes writes', async () => {
    const namespace = `test-${randomUUID()}`;
    const [a, b] = [replica(namespace), replica(namespace)];
    await Promise.all([ready(a), ready(b)]);
    const balancesA = a.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    const balancesB = b.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
    await listeningOn(2);
    // Each LISTEN taking effect gives Redis up until the epoch has moved on: shared again once it has.
    await Promise.all([ready(a), ready(b)]);
    let row = 'balance 100';
    let loads = 0;
    const load = () => {
      loads++;
      return Promise.resolve(row);
    };
    expect(await balancesA.read('C-1', [], load)).toBe('balance 100');
    await eventually(async () => {
      const admin = redis.client();
      try {
        expect(await admin.keys(`wf:cache:${namespace}:v:*`)).toHaveLength(1);
      } finally {
        admin.disconnect();
      }
    });
    expect(await balancesB.read('C-1', [], load)).toBe('balance 100');
    expect(loads).toBe(1);

    const admin = redis.client();
    try {
      // Demoted: a replica of a primary that is gone; it keeps serving its data to readers and refuses writes.
      await admin.replicaof('127.0.0.1', String(await freePort()));
      await expect(admin.set('probe', '1')).rejects.toThrow(/READONLY/);

      row = 'balance 90';
      await a.invalidate([{ kind: 'customer', id: 'C-1' }]);
      expect(await balancesA.read('C-1', [], load)).toBe('balance 90');
      await eventually(async () => expect(await balancesB.read('C-1', [], load)).toBe('balance 90'), 5000);
      // A replica that starts now never heard of the write; the entry in Redis still looks current to it.
      const c = replica(namespace);
      const balancesC = c.define<string>('balances', { scope: 'customer', ttlMs: 30_000 });
      await listeningOn(3);
      expect(await balancesC.read('C-1', [], load)).toBe('balance 90');

      // Promoted again: entries from before are given up, then Redis is shared again. Every replica's epoch bump
      // lands first (c's, retried since it started on the read-only Redis, would otherwise move the epoch on after
      // a's entry was stored, and b would miss it: a local CI run met that).
      await admin.replicaof('NO', 'ONE');
      await Promise.all([ready(a), ready(b), ready(c)]);
      row = 'balance 80';
      await a.invalidate([{ kind: 'customer', id: 'C-1' }]);
      expect(await balancesA.read('C-1', [], load)).toBe('balance 80');
      await eventually(async () => expect(await admin.keys(`wf:cache:${namespace}:v:*`)).toHaveLength(1));
      const before = loads;
      await eventually(async () => expect(await balancesB.read('C-1', [], load)).toBe('balance 80'), 5000);
      expect(loads).toBe(before);

      // Full, with nothing it may evict: Redis refuses writes (OOM) and still answers reads.
      await admin.config('SET', 'maxmemory', '1');
      await expect(admin.set('probe', '1')).rejects.toThrow(/OOM/);
      row = 'balance 70';
      await a.invalidate([{ kind: 'customer', id: 'C-1' }]);
      expect(await balancesA.read('C-1', [], load)).toBe('balance 70');
      await eventually(async () => expect(await balancesB.read('C-1', [], load)).toBe('balance 70'), 5000);
    } finally {
      await admin.replicaof('NO', 'ONE').catch(() => undefined);
      await admin.config('SET', 'maxmemory', '0').catch(() => undefined);
      admin.disconnect();
    }
  });
});
