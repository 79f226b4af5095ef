import { FixedWindowStorage, MAX_WINDOWS } from './fixed-window.storage';

describe('FixedWindowStorage', () => {
  let now = 1_000_000;
  let storage: FixedWindowStorage;

  beforeEach(() => {
    now = 1_000_000;
    storage = new FixedWindowStorage(() => now);
  });
  afterEach(() => storage.close());

  it('counts hits in a window and blocks past the limit until the block ends', async () => {
    for (let i = 1; i <= 3; i++) {
      expect(await storage.increment('k', 60_000, 3, 60_000)).toMatchObject({
        totalHits: i,
        isBlocked: false,
      });
    }
    const blocked = await storage.increment('k', 60_000, 3, 60_000);
    expect(blocked).toMatchObject({ isBlocked: true, timeToBlockExpire: 60 });
    now += 30_000;
    expect(await storage.increment('k', 60_000, 3, 60_000)).toMatchObject({
      isBlocked: true,
      timeToBlockExpire: 30,
    });
    now += 30_001;
    expect(await storage.increment('k', 60_000, 3, 60_000)).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('keeps keys apart', async () => {
    await storage.increment('a', 1000, 1, 1000);
    expect((await storage.increment('a', 1000, 1, 1000)).isBlocked).toBe(true);
    expect((await storage.increment('b', 1000, 1, 1000)).isBlocked).toBe(false);
  });

  it('starts a new window once the old one expires', async () => {
    await storage.increment('k', 1000, 5, 1000);
    await storage.increment('k', 1000, 5, 1000);
    now += 1000;
    expect((await storage.increment('k', 1000, 5, 1000)).totalHits).toBe(1);
  });

  it('holds at most its limit of counters, however many addresses call: the oldest window is forgotten', async () => {
    const small = new FixedWindowStorage(() => now, 3);
    try {
      for (const key of ['a', 'b', 'c']) await small.increment(key, 60_000, 1, 60_000);
      expect((await small.increment('a', 60_000, 1, 60_000)).isBlocked).toBe(true);
      await small.increment('d', 60_000, 1, 60_000);
      expect(small.size).toBe(3);
      // 'a' started first: forgotten, so it starts afresh (and 'b' goes to make room for it).
      expect(await small.increment('a', 60_000, 1, 60_000)).toMatchObject({ totalHits: 1, isBlocked: false });
      expect((await small.increment('c', 60_000, 1, 60_000)).isBlocked).toBe(true);
      expect(small.size).toBe(3);
    } finally {
      small.close();
    }
  });

  it('keeps a renewed window as the newest, not the oldest', async () => {
    const small = new FixedWindowStorage(() => now, 2);
    try {
      await small.increment('a', 1000, 1, 1000);
      await small.increment('b', 60_000, 1, 60_000);
      now += 1000;
      await small.increment('a', 60_000, 1, 60_000);
      await small.increment('c', 60_000, 1, 60_000);
      expect((await small.increment('a', 60_000, 1, 60_000)).isBlocked).toBe(true);
      expect((await small.increment('b', 60_000, 1, 60_000)).totalHits).toBe(1);
    } finally {
      small.close();
    }
  });

  it('is bounded by default, at a size a heap carries (~200 bytes a counter)', async () => {
    expect(MAX_WINDOWS).toBeLessThanOrEqual(100_000);
    for (let i = 0; i <= MAX_WINDOWS; i++) await storage.increment(`ip:${i}`, 60_000, 10, 60_000);
    expect(storage.size).toBe(MAX_WINDOWS);
  });
});
