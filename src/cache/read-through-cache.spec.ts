import { setTimeout as sleep } from 'node:timers/promises';
import {
  type InvalidationChannel,
  PEER_QUIET_MS,
  PEERS_FORGOTTEN_MS,
  PRESENCE_INTERVAL_MS,
  ReadThroughCache,
} from './read-through-cache';

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
    caughtUp: () => Promise.resolve(true),
    listening: () => true,
  });
  return [channel(), channel()];
}

/**
 * Two caches linked as a network links them: a published message arrives only when the test delivers it, and a
 * round trip on the listening connection delivers what was published before it (as PostgreSQL and Redis do), or
 * fails when `listening` is false.
 */
function delayedChannels() {
  const inFlight: { to: number; message: string }[] = [];
  const listeners: ((message: string) => void)[] = [];
  const state = { listening: true, roundTrips: 0 };
  const deliver = (to: number) => {
    for (const item of inFlight.filter((each) => each.to === to)) listeners[to](item.message);
    inFlight.splice(0, inFlight.length, ...inFlight.filter((each) => each.to !== to));
  };
  const channel = (self: number): InvalidationChannel => ({
    publish: (message) => {
      listeners.forEach((_listener, to) => to !== self && inFlight.push({ to, message }));
      return Promise.resolve();
    },
    subscribe: (onMessage) => {
      listeners[self] = onMessage;
    },
    listening: () => state.listening,
    caughtUp: async () => {
      state.roundTrips++;
      await Promise.resolve();
      if (!state.listening) return false;
      deliver(self);
      return true;
    },
  });
  return { channels: [channel(0), channel(1)] as const, state };
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

describe('ReadThroughCache: a region exact across replicas', () => {
  const exact = { scope: 'customer', ttlMs: 10_000, exactAcrossReplicas: true };

  it('sees a write another replica made whose invalidation is still on its way, where a plain region serves its old entry', async () => {
    const { channels } = delayedChannels();
    const [writer, reader] = [ReadThroughCache.of(settings), ReadThroughCache.of(settings)];
    writer.useFallbackChannel(channels[0]);
    reader.useFallbackChannel(channels[1]);
    let balance = 100;
    const load = () => Promise.resolve(balance);
    const balances = reader.define<number>('balances', exact);
    const plain = reader.define<number>('plain', { scope: 'customer', ttlMs: 10_000 });
    expect(await balances.read('C-1', ['checking'], load)).toBe(100);
    expect(await plain.read('C-1', ['checking'], load)).toBe(100);
    balance = 40;
    await writer.invalidate([{ kind: 'customer', id: 'C-1' }]);
    // The plain region's entry stays until the message arrives; the round trip the exact read makes delivers it.
    expect(await plain.read('C-1', ['checking'], load)).toBe(100);
    expect(await balances.read('C-1', ['checking'], load)).toBe(40);
    expect(await plain.read('C-1', ['checking'], load)).toBe(40);
  });

  it('shares one round trip among the reads that wait for it, and reads from the primary when it cannot make one', async () => {
    const { channels, state } = delayedChannels();
    const cache = ReadThroughCache.of(settings);
    cache.useFallbackChannel(channels[0]);
    const reported: string[][] = [];
    cache.onRemoteWrite((scopes, position) => reported.push([...scopes, position]));
    const balances = cache.define<number>('balances', exact);
    let loads = 0;
    const load = () => Promise.resolve(++loads);
    await balances.read('C-1', [], load);
    const before = state.roundTrips;
    await Promise.all([1, 2, 3, 4, 5].map(() => balances.read('C-1', [], load)));
    expect(state.roundTrips - before).toBeLessThanOrEqual(2);
    expect(loads).toBe(1);
    expect(reported).toEqual([]);

    state.listening = false;
    expect(await balances.read('C-1', [], load)).toBe(2);
    expect(reported).toEqual([['["customer","C-1"]', 'unknown']]);
  });

  it('with the cache off and read replicas in use, still passes write positions on, and waits for them before a read', async () => {
    const { channels, state } = delayedChannels();
    const off = { ...settings, enabled: false };
    const [writer, reader] = [ReadThroughCache.of(off), ReadThroughCache.of(off)];
    writer.useFallbackChannel(channels[0], { carriesWritePositions: true });
    reader.useFallbackChannel(channels[1], { carriesWritePositions: true });
    const reported: string[][] = [];
    reader.onRemoteWrite((scopes, position) => reported.push([...scopes, position]));
    const balances = reader.define<number>('balances', exact);
    await writer.invalidate([{ kind: 'customer', id: 'C-9' }], '0/3000060');
    // The position is on its way when the read begins: it has arrived when the read loads.
    expect(await balances.read('C-9', [], () => Promise.resolve(reported.length))).toBe(1);
    expect(reported).toEqual([['["customer","C-9"]', '0/3000060']]);
    // Nothing is cached with the cache off.
    expect(await balances.read('C-9', [], () => Promise.resolve(2))).toBe(2);
    state.listening = false;
    await balances.read('C-9', [], () => Promise.resolve(0));
    expect(reported.at(-1)).toEqual(['["customer","C-9"]', 'unknown']);
    // Without read replicas the channel is not used at all.
    const alone = ReadThroughCache.of(off);
    alone.useFallbackChannel(channels[0]);
    await alone.invalidate([{ kind: 'customer', id: 'C-9' }], '0/3000070');
    expect(reported).toHaveLength(2);
  });
});

describe('ReadThroughCache: a replica alone', () => {
  afterEach(() => jest.useRealTimers());

  it('makes no round trip for an exact read once it has listened a while and heard no other replica, and does again once one says it is there', async () => {
    jest.useFakeTimers();
    let roundTrips = 0;
    const published: string[] = [];
    let onMessage!: (message: string) => void;
    let onListening!: (afterGap: boolean) => void;
    const channel: InvalidationChannel = {
      publish: (message) => Promise.resolve(void published.push(message)),
      subscribe: (message, listening) => {
        onMessage = message;
        onListening = listening;
      },
      caughtUp: () => Promise.resolve(++roundTrips > 0),
      listening: () => true,
    };
    const cache = ReadThroughCache.of(settings);
    cache.useFallbackChannel(channel);
    const balances = cache.define<number>('balances', { scope: 'customer', ttlMs: 60_000, exactAcrossReplicas: true });
    const read = () => balances.read('C-1', [], () => Promise.resolve(1));
    onListening(false);
    // It says at once that it is there, and every PRESENCE_INTERVAL_MS.
    expect(published.map((message) => JSON.parse(message) as { h?: number })).toEqual([
      expect.objectContaining({ h: 1 }),
    ]);
    await read();
    expect(roundTrips).toBe(1); // not listened long enough to know it is alone
    await jest.advanceTimersByTimeAsync(PEERS_FORGOTTEN_MS);
    expect(published.length).toBeGreaterThanOrEqual(3);
    await read();
    expect(roundTrips).toBe(1);
    onMessage(JSON.stringify({ o: 'another replica', s: [], t: Date.now(), h: 1 }));
    await read();
    expect(roundTrips).toBe(2);
    await jest.advanceTimersByTimeAsync(PEERS_FORGOTTEN_MS);
    await read();
    expect(roundTrips).toBe(2);
    await cache.onApplicationShutdown();
  });
});

/**
 * Two caches linked at once (as `linkedChannels`), where the test makes a replica's publishing fail: its next
 * `refused[replica]` messages are not taken (PostgreSQL out of reach from it, its connection lost).
 */
function refusingChannels() {
  const listeners: ((message: string) => void)[] = [];
  const state = { refused: [0, 0] };
  const channel = (self: number): InvalidationChannel => ({
    publish: (message) => {
      if (state.refused[self] > 0) {
        state.refused[self]--;
        return Promise.reject(new Error('Connection terminated unexpectedly'));
      }
      listeners.forEach((listener, to) => to !== self && listener(message));
      return Promise.resolve();
    },
    subscribe: (onMessage) => {
      listeners[self] = onMessage;
    },
    caughtUp: () => Promise.resolve(true),
    listening: () => true,
  });
  return { channels: [channel(0), channel(1)] as const, state };
}

describe('ReadThroughCache: an invalidation the channel did not take', () => {
  const exact = { scope: 'customer', ttlMs: 60_000, exactAcrossReplicas: true };
  const plain = { scope: 'customer', ttlMs: 60_000 };
  const open: ReadThroughCache[] = [];
  afterEach(async () => {
    jest.useRealTimers();
    await Promise.all(open.splice(0).map((cache) => cache.onApplicationShutdown()));
  });

  /** A writer and a reader linked by `refusingChannels`. */
  function pair() {
    const { channels, state } = refusingChannels();
    const [writer, reader] = [ReadThroughCache.of(settings), ReadThroughCache.of(settings)];
    writer.useFallbackChannel(channels[0]);
    reader.useFallbackChannel(channels[1]);
    open.push(writer, reader);
    return { writer, reader, state };
  }

  it('sends it again until it is taken, and resolves only then: the next read on another replica sees the write', async () => {
    const { writer, reader, state } = pair();
    writer.define<string>('balances', exact);
    const balances = reader.define<string>('balances', exact);
    expect(await balances.read('C-1', [], () => Promise.resolve('100.00'))).toBe('100.00');
    state.refused[0] = 1;
    await writer.invalidate([{ kind: 'customer', id: 'C-1' }]);
    expect(await balances.read('C-1', [], () => Promise.resolve('90.00'))).toBe('90.00');
  });

  it('while it cannot be sent, the writer says nothing and the others, finding it quiet, trust no entry; it is sent once the channel takes it', async () => {
    jest.useFakeTimers();
    const { writer, reader, state } = pair();
    const told: string[] = [];
    reader.onRemoteWrite((_scopes, position) => told.push(position));
    writer.define<string>('balances', exact);
    const balances = reader.define<string>('balances', exact);
    await jest.advanceTimersByTimeAsync(PRESENCE_INTERVAL_MS); // each has heard the other say it is there
    expect(await balances.read('C-1', [], () => Promise.resolve('100.00'))).toBe('100.00');

    state.refused[0] = Number.POSITIVE_INFINITY;
    let answered = false;
    const writing = writer.invalidate([{ kind: 'customer', id: 'C-1' }], '0/3000060');
    void writing.then(() => (answered = true));
    // The writer is answered only once the reader must have found it quiet (it said nothing for PEER_QUIET_MS).
    await jest.advanceTimersByTimeAsync(PEER_QUIET_MS - 500);
    expect(answered).toBe(false);
    await jest.advanceTimersByTimeAsync(1500);
    expect(answered).toBe(true);
    expect(await balances.read('C-1', [], () => Promise.resolve('90.00'))).toBe('90.00');
    expect(told).toEqual(['unknown']);

    state.refused[0] = 0;
    await jest.advanceTimersByTimeAsync(1000);
    expect(told).toEqual(['unknown', '0/3000060']);
  });

  it('a replica gone without a word may have taken an unsent invalidation with it: the others drop everything once they forget it', async () => {
    jest.useFakeTimers();
    const { writer, reader, state } = pair();
    const orders = reader.define<string>('orders', plain);
    await jest.advanceTimersByTimeAsync(PRESENCE_INTERVAL_MS);
    expect(await orders.read('C-1', [], () => Promise.resolve('before'))).toBe('before');
    state.refused[0] = Number.POSITIVE_INFINITY; // the writer's path is gone; so is the writer, soon
    await jest.advanceTimersByTimeAsync(PEERS_FORGOTTEN_MS);
    expect(await orders.read('C-1', [], () => Promise.resolve('after'))).toBe('before');
    await jest.advanceTimersByTimeAsync(PRESENCE_INTERVAL_MS);
    expect(await orders.read('C-1', [], () => Promise.resolve('after'))).toBe('after');
    expect(writer).toBeDefined();
  });

  it('a replica that shuts down says so: the others stop waiting for it and keep their entries', async () => {
    jest.useFakeTimers();
    const { writer, reader } = pair();
    const orders = reader.define<string>('orders', plain);
    const balances = reader.define<string>('balances', exact);
    await jest.advanceTimersByTimeAsync(PRESENCE_INTERVAL_MS);
    expect(await orders.read('C-1', [], () => Promise.resolve('kept'))).toBe('kept');
    expect(await balances.read('C-1', [], () => Promise.resolve('kept'))).toBe('kept');
    await writer.onApplicationShutdown();
    await jest.advanceTimersByTimeAsync(PEERS_FORGOTTEN_MS + PRESENCE_INTERVAL_MS);
    expect(await orders.read('C-1', [], () => Promise.resolve('dropped'))).toBe('kept');
    expect(await balances.read('C-1', [], () => Promise.resolve('dropped'))).toBe('kept');
  });

  it('more held than it keeps become one message that drops everything', async () => {
    jest.useFakeTimers();
    const { writer, reader, state } = pair();
    const orders = reader.define<string>('orders', plain);
    await jest.advanceTimersByTimeAsync(PRESENCE_INTERVAL_MS);
    expect(await orders.read('C-other', [], () => Promise.resolve('before'))).toBe('before');
    state.refused[0] = Number.POSITIVE_INFINITY;
    const writes = Array.from({ length: 1001 }, (_, n) => writer.invalidate([{ kind: 'customer', id: `C-${n}` }]));
    await jest.advanceTimersByTimeAsync(100);
    state.refused[0] = 0;
    await jest.advanceTimersByTimeAsync(1000);
    await Promise.all(writes);
    // Long before the reader would forget the writer (and drop everything for that).
    expect(await orders.read('C-other', [], () => Promise.resolve('after'))).toBe('after');
  });
});

describe('ReadThroughCache: an exact read that cannot make its round trip', () => {
  it('joins no load begun before it (that load may have read the balance before a write), and loads for itself', async () => {
    const { channels, state } = delayedChannels();
    const cache = ReadThroughCache.of(settings);
    cache.useFallbackChannel(channels[0]);
    const balances = cache.define<string>('balances', {
      scope: 'customer',
      ttlMs: 60_000,
      exactAcrossReplicas: true,
    });
    let database = '100.00';
    const slow = deferred<string>();
    const before = balances.read('C-1', [], async () => {
      const seen = database;
      await slow.promise;
      return seen;
    });
    await sleep(10);
    database = '90.00'; // committed on another replica, whose message cannot reach this one
    state.listening = false;
    const after = balances.read('C-1', [], () => Promise.resolve(database));
    await sleep(10); // past its round trip, still during the load begun before
    slow.resolve('');
    expect(await after).toBe('90.00');
    expect(await before).toBe('100.00');
    state.listening = true;
    expect(await balances.read('C-1', [], () => Promise.resolve('not used'))).toBe('90.00');
  });
});
