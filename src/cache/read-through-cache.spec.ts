import { setTimeout as sleep } from 'node:timers/promises';
import { type InvalidationChannel, ReadThroughCache } from './read-through-cache';

const settings = { enabled: true, localMaxEntries: 100, localTtlMs: 60_000, maxTtlMs: 60_000 };

/** A promise the test settles itself, for loads that must still be running at some point. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The in-process channel between two caches: the contract PostgreSQL's LISTEN/NOTIFY fulfils in production. */
function linkedChannels(): [InvalidationChannel, InvalidationChannel] {
  const listeners: ((message: string) => void)[] = [];
  const channel = (): InvalidationChannel => ({
    publish: (message) => Promise.resolve(listeners.forEach((listener) => listener(message))),
    subscribe: (onMessage) => {
      listeners.push(onMessage);
    },
  });
  return [channel(), channel()];
}

describe('ReadThroughCache (in process)', () => {
  it('answers a repeated read from memory and loads again only after its scope is invalidated', async () => {
    const cache = ReadThroughCache.of(settings);
    const balances = cache.define<string>('balances', { scope: 'customer', ttlMs: 10_000 });
    let loads = 0;
    const load = () => Promise.resolve(`balance ${++loads}`);
    expect(await balances.read('C-1', ['checking'], load)).toBe('balance 1');
    expect(await balances.read('C-1', ['checking'], load)).toBe('balance 1');
    await cache.invalidate([{ kind: 'customer', id: 'C-2' }]);
    expect(await balances.read('C-1', ['checking'], load)).toBe('balance 1');
    await cache.invalidate([{ kind: 'customer', id: 'C-1' }]);
    expect(await balances.read('C-1', ['checking'], load)).toBe('balance 2');
  });

  it('loads once for any number of concurrent misses of one key', async () => {
    const cache = ReadThroughCache.of(settings);
    const orders = cache.define<string>('orders', { scope: 'customer', ttlMs: 10_000 });
    const pending = deferred<string>();
    let loads = 0;
    const reads = Array.from({ length: 25 }, () =>
      orders.read('C-1', ['A-1'], () => {
        loads++;
        return pending.promise;
      }),
    );
    pending.resolve('shipped');
    expect(await Promise.all(reads)).toEqual(Array(25).fill('shipped'));
    expect(loads).toBe(1);
  });

  it('never lets two scopes or two key lists share an entry, whatever characters they hold', async () => {
    const cache = ReadThroughCache.of(settings);
    const balances = cache.define<string>('balances', { scope: 'customer', ttlMs: 10_000 });
    const pairs: [string, string[]][] = [
      ['a', ['b:c']],
      ['a:b', ['c']],
      ['a","b', []],
      ['a', ['b', 'c']],
      ['a,b', ['c']],
      ['"a"', ['b']],
    ];
    for (const [scope, parts] of pairs) {
      expect(await balances.read(scope, parts, () => Promise.resolve(`${scope}|${parts.join('/')}`))).toBe(
        `${scope}|${parts.join('/')}`,
      );
    }
    for (const [scope, parts] of pairs) {
      expect(await balances.read(scope, parts, () => Promise.resolve('reloaded'))).toBe(`${scope}|${parts.join('/')}`);
    }
  });

  it('does not keep what a load read before a write that committed while it ran', async () => {
    const cache = ReadThroughCache.of(settings);
    const balances = cache.define<string>('balances', { scope: 'customer', ttlMs: 10_000 });
    const slow = deferred<string>();
    const before = balances.read('C-1', [], () => slow.promise);
    await cache.invalidate([{ kind: 'customer', id: 'C-1' }]);
    // A read after the write must not join the load that began before it.
    expect(await balances.read('C-1', [], () => Promise.resolve('after the write'))).toBe('after the write');
    slow.resolve('before the write');
    expect(await before).toBe('before the write');
    expect(await balances.read('C-1', [], () => Promise.resolve('not used'))).toBe('after the write');
  });

  it('lets a reader that joined an aborted load load for itself', async () => {
    const cache = ReadThroughCache.of(settings);
    const balances = cache.define<string>('balances', { scope: 'customer', ttlMs: 10_000 });
    const owner = new AbortController();
    const first = balances.read(
      'C-1',
      [],
      (signal) =>
        new Promise<string>((_resolve, reject) =>
          signal?.addEventListener('abort', () => reject(signal.reason as Error)),
        ),
      owner.signal,
    );
    const second = balances.read('C-1', [], () => Promise.resolve('own load'));
    owner.abort(new Error('deadline'));
    await expect(first).rejects.toThrow('deadline');
    expect(await second).toBe('own load');
  });

  it('gives up an entry at its TTL, and never keeps one longer than CACHE_MAX_TTL_MS', async () => {
    const cache = ReadThroughCache.of({ ...settings, maxTtlMs: 100 });
    const products = cache.define<number>('products', { scope: 'catalogue', ttlMs: 60_000 });
    let loads = 0;
    await products.read('all', ['SKU'], () => Promise.resolve(++loads));
    expect(await products.read('all', ['SKU'], () => Promise.resolve(++loads))).toBe(1);
    await sleep(150);
    expect(await products.read('all', ['SKU'], () => Promise.resolve(++loads))).toBe(2);
  });

  it('does not cache a failed load', async () => {
    const cache = ReadThroughCache.of(settings);
    const orders = cache.define<string>('orders', { scope: 'customer', ttlMs: 10_000 });
    await expect(orders.read('C-1', [], () => Promise.reject(new Error('connection lost')))).rejects.toThrow();
    expect(await orders.read('C-1', [], () => Promise.resolve('loaded'))).toBe('loaded');
  });

  it('hands out frozen values, so a handler cannot change what other turns read', async () => {
    const cache = ReadThroughCache.of(settings);
    const accounts = cache.define<{ balance: string; owner: { name: string } }>('accounts', {
      scope: 'customer',
      ttlMs: 10_000,
    });
    const account = await accounts.read('C-1', [], () => Promise.resolve({ balance: '1', owner: { name: 'Ada' } }));
    expect(() => {
      (account as { balance: string }).balance = '1000000';
    }).toThrow(TypeError);
    expect(Object.isFrozen(account.owner)).toBe(true);
  });

  it('tells another replica through its fallback channel, which drops the scope at once', async () => {
    const [channelA, channelB] = linkedChannels();
    const a = ReadThroughCache.of(settings);
    const b = ReadThroughCache.of(settings);
    a.useFallbackChannel(channelA);
    b.useFallbackChannel(channelB);
    const balancesB = b.define<string>('balances', { scope: 'customer', ttlMs: 10_000 });
    a.define<string>('balances', { scope: 'customer', ttlMs: 10_000 });
    expect(await balancesB.read('C-1', [], () => Promise.resolve('old'))).toBe('old');
    await a.invalidate([{ kind: 'customer', id: 'C-1' }]);
    expect(await balancesB.read('C-1', [], () => Promise.resolve('new'))).toBe('new');
  });

  it("passes a write's WAL position to the other replica before dropping its entries (read-your-writes)", async () => {
    const [channelA, channelB] = linkedChannels();
    const a = ReadThroughCache.of(settings);
    const b = ReadThroughCache.of(settings);
    a.useFallbackChannel(channelA);
    b.useFallbackChannel(channelB);
    const told: [readonly string[], string][] = [];
    b.onRemoteWrite((scopes, position) => told.push([scopes, position]));
    await a.invalidate([{ kind: 'customer', id: 'C-1' }], '0/3000060');
    await a.invalidate([{ kind: 'customer', id: 'C-2' }]);
    expect(told).toEqual([[['["customer","C-1"]'], '0/3000060']]);
  });

  it('reads through to the loader every time when switched off', async () => {
    const cache = ReadThroughCache.of({ ...settings, enabled: false });
    const balances = cache.define<number>('balances', { scope: 'customer', ttlMs: 10_000 });
    let loads = 0;
    await balances.read('C-1', [], () => Promise.resolve(++loads));
    expect(await balances.read('C-1', [], () => Promise.resolve(++loads))).toBe(2);
  });

  it('refuses a second cache of the same name', () => {
    const cache = ReadThroughCache.of(settings);
    cache.define('balances', { scope: 'customer', ttlMs: 1 });
    expect(() => cache.define('balances', { scope: 'customer', ttlMs: 1 })).toThrow('defined twice');
  });
});
