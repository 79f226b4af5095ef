import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { FixedWindowStorage } from '../../src/throttling/fixed-window.storage';
import { RedisWindowStorage } from '../../src/throttling/redis-window.storage';
import { testRedisUrl } from '../support/redis';

const WINDOW_MS = 1200;
const LIMIT = 2;

/** The Redis counters behind rate limits, on a real Redis, against the in-memory storage's rules. */
describe('RedisWindowStorage (real Redis)', () => {
  let redis: Redis;
  let storage: RedisWindowStorage;
  let key: string;

  beforeEach(() => {
    redis = new Redis(testRedisUrl());
    storage = new RedisWindowStorage(redis);
    key = `test-${randomUUID()}`;
  });
  afterEach(() => redis.disconnect());

  const hit = (name = 'default') => storage.increment(key, WINDOW_MS, LIMIT, WINDOW_MS, name);

  it('counts a window, blocks past the limit and keeps names and keys apart', async () => {
    expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false, timeToBlockExpire: 0 });
    expect(await hit()).toMatchObject({ totalHits: 2, isBlocked: false });
    const refused = await hit();
    expect(refused).toMatchObject({ totalHits: 3, isBlocked: true, timeToBlockExpire: 2 });
    expect(refused.timeToExpire).toBeGreaterThan(0);
    expect(await hit('other')).toMatchObject({ totalHits: 1, isBlocked: false });
    // Both keys of one counter share a hash tag (one cluster slot).
    expect((await redis.keys(`{${key}:default}:*`)).sort()).toEqual([
      `{${key}:default}:blocked`,
      `{${key}:default}:hits`,
    ]);
  });

  it('answers a key blocked past the window it was blocked in as over its limit (hits, not 0: "store unreachable")', async () => {
    // Blocked, then the window ends while the block (a window long from the refused hit) goes on: its hit counter
    // is gone (ended here at once rather than waited for).
    await hit();
    await hit();
    expect(await hit()).toMatchObject({ isBlocked: true });
    await redis.del(`{${key}:default}:hits`);
    const stillBlocked = await hit();
    expect(stillBlocked).toMatchObject({ isBlocked: true, totalHits: LIMIT + 1 });
    expect(stillBlocked.timeToBlockExpire).toBeGreaterThan(0);
  });

  it('does not count refused requests: a caller that keeps sending through its block gets its budget back after it', async () => {
    const memory = new FixedWindowStorage();
    try {
      const both = async () => {
        const [inRedis, inMemory] = await Promise.all([hit(), memory.increment(key, WINDOW_MS, LIMIT, WINDOW_MS)]);
        expect(inRedis.isBlocked).toBe(inMemory.isBlocked);
        return inRedis;
      };
      await both();
      await sleep(WINDOW_MS / 2);
      await both();
      // Over the limit halfway through the window: blocked for a whole window from here, past the window's end.
      expect((await both()).isBlocked).toBe(true);
      // Refused requests after the window ended, while the block lasts, must not fill a new window.
      const blockEnds = Date.now() + WINDOW_MS;
      await sleep(WINDOW_MS / 2 + 100);
      for (let i = 0; i < 5; i++) expect((await both()).isBlocked).toBe(true);
      await sleep(Math.max(0, blockEnds - Date.now()) + 100);
      expect(await both()).toMatchObject({ totalHits: 1, isBlocked: false });
      expect(await both()).toMatchObject({ totalHits: 2, isBlocked: false });
    } finally {
      memory.close();
    }
  });
});
