import { Logger } from '@nestjs/common';
import type { FlattenedJWSInput } from 'jose';
import {
  answerWithoutEnd,
  HUGE,
  listenOnLoopback,
  MIB,
  type OversizedAnswer,
} from '../../common/http/testing/oversized-answer';
import { JwksCache, type JwksCacheOptions, JwksUnavailableError } from './jwks-cache';
import { LocalServer, makeKey, type TestKey } from './testing/local-server';

const MINUTE = 60_000;
const NO_TOKEN = {} as FlattenedJWSInput;

let server: LocalServer;
let key: TestKey;
let rotated: TestKey;
let published: TestKey[];
let headers: Record<string, string>;
let status: number;
let clock: number;

beforeAll(async () => {
  server = await LocalServer.start();
  [key, rotated] = await Promise.all([makeKey('k-1'), makeKey('k-2')]);
});

afterAll(() => server.close());

beforeEach(() => {
  server.reset();
  published = [key];
  headers = {};
  status = 200;
  clock = 1_000_000;
  server.route('GET', '/jwks', () =>
    status === 200 ? { json: { keys: published.map((k) => k.publicJwk) }, headers } : { status, text: 'down' },
  );
});

function cache(overrides: Partial<JwksCacheOptions> = {}): JwksCache {
  return new JwksCache({
    uri: server.url('/jwks'),
    cooldownDurationMs: 30_000,
    defaultMaxAgeMs: 10 * MINUTE,
    minMaxAgeMs: MINUTE,
    maxMaxAgeMs: 24 * 60 * MINUTE,
    timeoutMs: 2_000,
    now: () => clock,
    ...overrides,
  });
}

const lookUp = async (c: JwksCache, kid: string) => c.getKey({ alg: 'RS256', kid }, NO_TOKEN);
const fetches = () => server.count('/jwks');
/** Waits for the refresh an expired set started beside the lookup (stale-while-revalidate), if any. */
const refreshed = async (c: JwksCache) => {
  await c['pending']?.catch(() => undefined);
};

/** Looks `kid-1` up at each offset (ms after the first fetch); returns the fetch count after each. */
async function countsAt(c: JwksCache, offsets: number[]): Promise<number[]> {
  const start = clock;
  const counts: number[] = [];
  for (const offset of offsets) {
    clock = start + offset;
    await lookUp(c, 'k-1');
    await refreshed(c);
    counts.push(fetches());
  }
  return counts;
}

describe('JwksCache', () => {
  describe('cache lifetime from the JWKS response', () => {
    it('keeps the set for Cache-Control max-age, then refetches', async () => {
      headers = { 'cache-control': 'public, max-age=120' };
      expect(await countsAt(cache(), [0, 119_000, 121_000, 200_000])).toEqual([1, 1, 2, 2]);
    });

    it('subtracts the Age header', async () => {
      headers = { 'cache-control': 'max-age=300', age: '200' };
      expect(await countsAt(cache(), [0, 99_000, 101_000])).toEqual([1, 1, 2]);
    });

    it('raises a tiny max-age, no-cache or no-store to the minimum', async () => {
      for (const value of ['max-age=1', 'no-cache', 'no-store', 'max-age=0']) {
        server.reset();
        server.route('GET', '/jwks', () => ({ json: { keys: [key.publicJwk] }, headers: { 'cache-control': value } }));
        expect(await countsAt(cache(), [0, 59_000, 61_000])).toEqual([1, 1, 2]);
      }
    });

    it('caps a huge max-age at the maximum', async () => {
      headers = { 'cache-control': 'max-age=31536000' };
      expect(await countsAt(cache(), [0, 23 * 60 * MINUTE, 24 * 60 * MINUTE + 1])).toEqual([1, 1, 2]);
    });

    it('uses the default when the response says nothing', async () => {
      expect(await countsAt(cache(), [0, 9 * MINUTE, 10 * MINUTE + 1])).toEqual([1, 1, 2]);
    });
  });

  describe('unknown kid', () => {
    it('refetches at most once per cooldown however many unknown kids arrive', async () => {
      const c = cache();
      await lookUp(c, 'k-1');
      expect(fetches()).toBe(1);
      const start = clock;
      // 29 s of traffic with random unknown kids: no refetch (the first fetch began the cooldown).
      for (let second = 0; second < 29; second++) {
        clock = start + second * 1000;
        const kids = Array.from({ length: 10 }, () => `random-${Math.random().toString(36).slice(2)}`);
        const results = await Promise.allSettled(kids.map((kid) => lookUp(c, kid)));
        expect(results.every((r) => r.status === 'rejected')).toBe(true);
      }
      expect(fetches()).toBe(1);
      // Past the cooldown a burst triggers exactly one refetch, then the next cooldown begins.
      clock = start + 31_000;
      await Promise.allSettled(Array.from({ length: 20 }, (_, i) => lookUp(c, `burst-${i}`)));
      expect(fetches()).toBe(2);
      clock = start + 45_000;
      await Promise.allSettled(Array.from({ length: 20 }, (_, i) => lookUp(c, `later-${i}`)));
      expect(fetches()).toBe(2);
    });

    it('finds a rotated key by refetching after the cooldown', async () => {
      const c = cache();
      await lookUp(c, 'k-1');
      published = [key, rotated];
      await expect(lookUp(c, 'k-2')).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
      clock += 30_000;
      await expect(lookUp(c, 'k-2')).resolves.toBeDefined();
      expect(fetches()).toBe(2);
    });
  });

  describe('JWKS outage', () => {
    it('keeps expired keys while a refresh fails, retrying once per cooldown', async () => {
      const c = cache();
      await lookUp(c, 'k-1');
      status = 503;
      expect(await countsAt(c, [10 * MINUTE + 1, 10 * MINUTE + 10_000, 10 * MINUTE + 31_000])).toEqual([2, 2, 3]);
    });

    it('stops using keys older than the maximum cache age', async () => {
      const c = cache();
      await lookUp(c, 'k-1');
      status = 503;
      clock += 24 * 60 * MINUTE + 1;
      await expect(lookUp(c, 'k-1')).rejects.toMatchObject({ name: 'JwksUnavailableError' });
    });

    it('without any keys yet, retries at most once a second, however many tokens arrive', async () => {
      status = 503;
      const c = cache();
      await expect(lookUp(c, 'k-1')).rejects.toMatchObject({ name: 'JwksUnavailableError' });
      status = 200;
      for (let i = 0; i < 20; i += 1) {
        await expect(lookUp(c, 'k-1')).rejects.toMatchObject({ name: 'JwksUnavailableError' });
      }
      expect(fetches()).toBe(1);
      clock += 1000;
      await expect(lookUp(c, 'k-1')).resolves.toBeDefined();
      expect(fetches()).toBe(2);
    });

    it('with keys too old to use, retries at most once a second too', async () => {
      const c = cache();
      await lookUp(c, 'k-1');
      status = 503;
      clock += 24 * 60 * MINUTE + 1;
      for (let i = 0; i < 20; i += 1) {
        await expect(lookUp(c, 'k-1')).rejects.toMatchObject({ name: 'JwksUnavailableError' });
      }
      expect(fetches()).toBe(2);
    });
  });
});

describe('JwksCache: a slow key-set endpoint (real HTTP on 127.0.0.1, held until released)', () => {
  let release: () => void;
  let held: Promise<void>;

  beforeEach(() => {
    held = new Promise((resolve) => (release = resolve));
    clock = 1_000_000;
  });
  afterEach(() => release());

  /** Serves `keys()` at once for the first request, and holds every later one until `release()`. */
  function serveThenHold(keys: () => TestKey[]): void {
    server.route('GET', '/jwks', async () => {
      if (fetches() > 1) await held;
      return { json: { keys: keys().map((k) => k.publicJwk) } };
    });
  }

  /** The lookup's outcome, or 'waited' when it has not settled within `ms` of real time. */
  const within = (lookup: Promise<unknown>, ms = 1_000) =>
    Promise.race([
      lookup.then(
        () => 'found',
        (error: { code?: string; name?: string }) => error.code ?? error.name,
      ),
      new Promise((resolve) => setTimeout(() => resolve('waited'), ms)),
    ]);

  it('answers a token whose key is cached and fresh at once while an unknown kid waits for the fetch', async () => {
    let keys = [key];
    serveThenHold(() => keys);
    const c = cache();
    await lookUp(c, 'k-1');
    keys = [key, rotated];
    clock += 31_000; // past the cooldown, well within the set's 10 min
    const unknown = lookUp(c, 'k-2');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fetches()).toBe(2);
    // Before, every lookup waited for the fetch the unknown kid started (up to the 5 s timeout).
    expect(await within(lookUp(c, 'k-1'))).toBe('found');
    expect(await within(unknown, 200)).toBe('waited');
    release();
    expect(await within(unknown)).toBe('found');
  });

  it('answers with an expired set while it is refreshed, then uses the refreshed one', async () => {
    let keys = [key];
    serveThenHold(() => keys);
    const c = cache();
    await lookUp(c, 'k-1');
    keys = [rotated];
    clock += 10 * MINUTE + 1; // expired (no Cache-Control: 10 min)
    expect(await within(lookUp(c, 'k-1'))).toBe('found');
    expect(await within(lookUp(c, 'k-1'))).toBe('found');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fetches()).toBe(2); // one refresh, however many lookups
    release();
    await refreshed(c);
    expect(await within(lookUp(c, 'k-2'))).toBe('found');
    // k-1 is gone from the refreshed set (and an unknown kid waits out the cooldown the refresh began).
    expect(await within(lookUp(c, 'k-1'))).toBe('ERR_JWKS_NO_MATCHING_KEY');
  });

  it('makes a lookup wait for the fetch only when the set is too old to use', async () => {
    serveThenHold(() => [key]);
    const c = cache();
    await lookUp(c, 'k-1');
    clock += 24 * 60 * MINUTE + 1;
    const lookup = lookUp(c, 'k-1');
    expect(await within(lookup, 200)).toBe('waited');
    release();
    expect(await within(lookup)).toBe('found');
  });
});

describe('JwksCache: the size of an answer', () => {
  let answers: OversizedAnswer[];
  let warnings: jest.SpyInstance;

  beforeEach(() => {
    answers = [];
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => warnings.mockRestore());

  /** Looks a key up in a set answered without end; returns the error and the answer the server gave. */
  async function refusal(declaredLength?: number): Promise<{ error: unknown; answer: OversizedAnswer; url: string }> {
    const big = await listenOnLoopback((_req, res) => {
      answers.push(answerWithoutEnd(res, { prefix: '{"keys":[', declaredLength }));
    });
    try {
      const url = big.url('/jwks');
      // A long timeout: only the size limit may end the read.
      const error = await lookUp(cache({ uri: url, timeoutMs: 60_000 }), 'k-1').catch((e: unknown) => e);
      expect(answers).toHaveLength(1);
      return { error, answer: answers[0], url };
    } finally {
      await big.close();
    }
  }

  it('refuses a key set answered without end once it passes 1 MiB, and reads no further', async () => {
    const { error, answer, url } = await refusal();
    expect(error).toBeInstanceOf(JwksUnavailableError);
    expect(error).toMatchObject({ message: 'JWKS request refused: the answer is larger than 1 MiB' });
    await expect(answer.outcome).resolves.toBe('client-closed');
    // Socket buffers hold a few MiB; a reader without a limit takes all 64 MiB the server offers.
    expect(answer.written()).toBeLessThan(32 * MIB);
    expect(warnings).toHaveBeenCalledWith(
      `Refused the JWKS at ${url}: the answer is larger than 1 MiB; it was not read further`,
    );
  });

  it('refuses a key set whose Content-Length is over 1 MiB before reading it', async () => {
    const { error, answer } = await refusal(HUGE);
    expect(error).toBeInstanceOf(JwksUnavailableError);
    expect(error).toMatchObject({
      message: `JWKS request refused: the answer declares ${HUGE} bytes, more than 1 MiB`,
    });
    await expect(answer.outcome).resolves.toBe('client-closed');
    expect(answer.written()).toBeLessThan(32 * MIB);
  });

  it('still reads a key set of normal size', async () => {
    await expect(lookUp(cache(), 'k-1')).resolves.toBeDefined();
    expect(warnings).not.toHaveBeenCalled();
  });
});
