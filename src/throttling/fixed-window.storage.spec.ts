import { FixedWindowStorage } from './fixed-window.storage';

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
});
