import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Deadline, DeadlineReachedError } from '../../src/common/deadline';
import { AppError } from '../../src/common/errors/app-error';
import { loadConfig } from '../../src/config';
import { canonicalHash } from '../../src/idempotency/canonical-hash';
import { IdempotencyService, LEASE_MARGIN_MS } from '../../src/idempotency/idempotency.service';
import { eventually } from '../support/eventually';
import { ClaimOutcome, ClaimRequest, IdempotencyStore } from '../../src/idempotency/idempotency.store';
import { TestClock } from '../support/test-clock';
import { mediumDatabase, MediumDatabase } from './support/medium-database';

const KEY = (): string => randomUUID().replaceAll('-', '').padEnd(64, '0');

describe('idempotency on PostgreSQL (store and service, no Nest)', () => {
  let db: MediumDatabase;
  let store: IdempotencyStore;

  beforeAll(async () => {
    db = await mediumDatabase();
    store = new IdempotencyStore(db.pool);
  });
  afterAll(() => db.close());

  /** Whether the attempt claimed the key. */
  const claimed = async (request: ClaimRequest): Promise<boolean> => (await store.claimOrRead(request)).claimed;

  const claim = (overrides: Partial<ClaimRequest> = {}): ClaimRequest => ({
    callerId: 'bot',
    key: KEY(),
    platform: 'generic',
    requestHash: 'a'.repeat(64),
    owner: randomUUID(),
    leaseMs: 60_000,
    ttlMs: 3_600_000,
    ...overrides,
  });

  describe('IdempotencyStore', () => {
    it('lets one attempt claim a key; another attempt sees it in flight', async () => {
      const first = claim();
      expect(await claimed(first)).toBe(true);
      expect(await claimed({ ...first, owner: randomUUID() })).toBe(false);
      expect(await store.read(first.callerId, first.key)).toEqual({
        state: 'in-flight',
        requestHash: first.requestHash,
        leaseExpired: false,
      });
    });

    it('answers a claim that finds the key held with the record in the way, in the same round trip', async () => {
      const first = claim();
      expect(await store.claimOrRead(first)).toEqual({ claimed: true });
      expect(await store.claimOrRead({ ...first, owner: randomUUID() })).toEqual({
        claimed: false,
        existing: { state: 'in-flight', requestHash: first.requestHash, leaseExpired: false },
      });
      await store.complete(first.callerId, first.key, first.owner, 201, '{"text":"done"}');
      expect(await store.claimOrRead({ ...first, owner: randomUUID(), requestHash: 'b'.repeat(64) })).toEqual({
        claimed: false,
        existing: { state: 'completed', requestHash: first.requestHash, status: 201, body: '{"text":"done"}' },
      });
    });

    it('keeps the completed response, and only the owner may complete or release', async () => {
      const first = claim();
      await claimed(first);
      expect(await store.complete(first.callerId, first.key, 'someone-else', 200, '{}')).toBe(false);
      await store.release(first.callerId, first.key, 'someone-else');
      expect(await store.complete(first.callerId, first.key, first.owner, 200, '{"text":"done"}')).toBe(true);
      expect(await store.read(first.callerId, first.key)).toEqual({
        state: 'completed',
        requestHash: first.requestHash,
        status: 200,
        body: '{"text":"done"}',
      });
      // Completed is final: a new claim of the same key does not take it over.
      expect(await claimed({ ...first, owner: randomUUID() })).toBe(false);
    });

    it('claims a key another attempt holds without locking its record: a lock held on it does not hold the claim up', async () => {
      // A claim that conflicted used to lock the record (ON CONFLICT DO UPDATE locks even when its WHERE says no):
      // a burst of duplicates queued on that lock, each holding a pool connection, ahead of the owner's COMPLETE.
      const inFlight = claim();
      const completed = claim();
      await claimed(inFlight);
      await claimed(completed);
      await store.complete(completed.callerId, completed.key, completed.owner, 200, '{}');
      const locker = new Client({ connectionString: db.database.url });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('SELECT 1 FROM idempotency_records WHERE key = ANY($1) FOR UPDATE', [
          [inFlight.key, completed.key],
        ]);
        let settled = false;
        const claims = Promise.all([
          claimed({ ...inFlight, owner: randomUUID() }),
          claimed({ ...completed, owner: randomUUID() }),
        ]).finally(() => (settled = true));
        const blocked = (async () => {
          while (!settled) {
            const [{ waiting }] = await db.query<{ waiting: number }>(
              `SELECT count(*)::int AS waiting FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock'`,
            );
            if (waiting > 0) return 'a claim waited for the lock';
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          return 'never waited';
        })();
        expect(await Promise.race([claims, blocked])).toEqual([false, false]);
        expect(await blocked).toBe('never waited');
      } finally {
        await locker.query('ROLLBACK');
        await locker.end();
      }
    });

    it('is scoped per caller', async () => {
      const mine = claim();
      await claimed(mine);
      expect(await claimed({ ...mine, callerId: 'other-bot', owner: randomUUID() })).toBe(true);
    });

    it('lets a new attempt take over a record whose owner let its lease lapse, with the same body only', async () => {
      const dead = claim({ leaseMs: 0 });
      await claimed(dead);
      expect(await store.read(dead.callerId, dead.key)).toMatchObject({ state: 'in-flight', leaseExpired: true });
      expect(await claimed({ ...dead, owner: randomUUID(), requestHash: 'b'.repeat(64) })).toBe(false);
      const successor = { ...dead, owner: randomUUID(), leaseMs: 60_000 };
      expect(await claimed(successor)).toBe(true);
      // The dead owner can no longer complete what it started.
      expect(await store.complete(dead.callerId, dead.key, dead.owner, 200, '{}')).toBe(false);
      expect(await store.complete(dead.callerId, dead.key, successor.owner, 200, '{}')).toBe(true);
    });

    it('lets exactly one of many concurrent attempts claim a new key, an expired record or an abandoned one', async () => {
      const attempts = (request: ClaimRequest) =>
        Promise.all(Array.from({ length: 10 }, () => claimed({ ...request, owner: randomUUID() })));
      const winners = (won: boolean[]) => won.filter(Boolean).length;

      expect(winners(await attempts(claim()))).toBe(1);
      const expired = claim({ ttlMs: 0 });
      await claimed(expired);
      expect(winners(await attempts({ ...expired, ttlMs: 3_600_000 }))).toBe(1);
      const abandoned = claim({ leaseMs: 0 });
      await claimed(abandoned);
      expect(winners(await attempts({ ...abandoned, leaseMs: 60_000 }))).toBe(1);
      expect(await store.read(abandoned.callerId, abandoned.key)).toMatchObject({ leaseExpired: false });
    });

    it('keeps a record whose owner renews its lease from expiring: work past the TTL is not taken over', async () => {
      const running = claim({ ttlMs: 300, leaseMs: 60_000 });
      await claimed(running);
      expect(await store.renew(running.callerId, running.key, running.owner, 5000)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await claimed({ ...running, owner: randomUUID() })).toBe(false);
      expect(await store.read(running.callerId, running.key)).toMatchObject({
        state: 'in-flight',
        leaseExpired: false,
      });
      expect(await store.complete(running.callerId, running.key, running.owner, 200, '{}')).toBe(true);
    });

    it('releases a key so a retry claims it again, and purges expired records in batches', async () => {
      const released = claim();
      await claimed(released);
      await store.release(released.callerId, released.key, released.owner);
      expect(await store.read(released.callerId, released.key)).toBeUndefined();
      expect(await claimed({ ...released, owner: randomUUID() })).toBe(true);

      for (let i = 0; i < 3; i += 1) await claimed(claim({ ttlMs: 0 }));
      expect(await store.purgeExpired(2)).toBe(2);
      expect(await store.purgeExpired(2)).toBeGreaterThanOrEqual(1);
      expect(await store.purgeExpired(2)).toBe(0);
    });
  });

  describe('IdempotencyService (with a test clock: no waiting)', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://unused/x' }, '/srv');
    const scope = (key = KEY()) => ({ callerId: 'bot', platform: 'generic', key, body: { amount: 5 } });

    it('runs a turn once: a duplicate after completion gets the stored response, replayed', async () => {
      const service = new IdempotencyService(store, config, new TestClock());
      const turn = scope();
      let runs = 0;
      const run = () => Promise.resolve({ status: 200, json: `{"run":${++runs}}`, keep: true });
      expect(await service.execute(turn, Deadline.after(1000), run)).toEqual({
        status: 200,
        json: '{"run":1}',
        replayed: false,
      });
      expect(await service.execute(turn, Deadline.after(1000), run)).toEqual({
        status: 200,
        json: '{"run":1}',
        replayed: true,
      });
      expect(runs).toBe(1);
    });

    it('claims again at once when its claim saw no record in the way (one committed, or gone, just after it looked)', async () => {
      const turn = scope();
      const clock = new TestClock();
      let first = true;
      const racing = Object.assign(Object.create(store) as IdempotencyStore, {
        claimOrRead: (request: ClaimRequest): Promise<ClaimOutcome> => {
          if (!first) return store.claimOrRead(request);
          first = false;
          return Promise.resolve({ claimed: false, existing: undefined });
        },
      });
      const service = new IdempotencyService(racing, config, clock);
      const reply = await service.execute(turn, Deadline.after(1000), () =>
        Promise.resolve({ status: 200, json: '{"ran":true}', keep: true }),
      );
      expect(reply).toEqual({ status: 200, json: '{"ran":true}', replayed: false });
      expect(clock.sleeps).toEqual([]);
    });

    it('answers a duplicate of a completed turn from its claim alone: one statement, no read', async () => {
      const turn = scope();
      const service = new IdempotencyService(store, config, new TestClock());
      await service.execute(turn, Deadline.after(1000), () =>
        Promise.resolve({ status: 200, json: '{"done":true}', keep: true }),
      );
      const calls: string[] = [];
      const again = new IdempotencyService(watchedStore(store, calls), config, new TestClock());
      expect(await again.execute(turn, Deadline.after(1000), () => Promise.reject(new Error('ran twice')))).toEqual({
        status: 200,
        json: '{"done":true}',
        replayed: true,
      });
      expect(calls).toEqual(['claim']);
    });

    it('refuses the same key with another body (422)', async () => {
      const service = new IdempotencyService(store, config, new TestClock());
      const turn = scope();
      await service.execute(turn, Deadline.after(1000), () => Promise.resolve({ status: 200, json: '{}', keep: true }));
      const error = await service
        .execute({ ...turn, body: { amount: 6 } }, Deadline.after(1000), () =>
          Promise.resolve({ status: 200, json: '{}', keep: true }),
        )
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('IDEMPOTENCY_KEY_REUSED');
    });

    it('waits for a turn in flight elsewhere only within its budget, then answers 409 with Retry-After', async () => {
      const clock = new TestClock();
      const service = new IdempotencyService(store, config, clock);
      const turn = scope();
      await claimed({ ...claim(), key: turn.key, requestHash: canonicalHash(turn.body) });
      const started = clock.now();
      const error = await service
        .execute(turn, Deadline.after(800), () => Promise.resolve({ status: 200, json: '{}', keep: true }))
        .catch((caught: unknown) => caught);
      expect((error as AppError).code).toBe('IDEMPOTENCY_IN_PROGRESS');
      expect((error as AppError).headers).toEqual({ 'Retry-After': '1' });
      // The deadline's own clock started a moment before the test clock was read: within a few ms of 800.
      expect(clock.now() - started).toBeGreaterThan(790);
      expect(clock.now() - started).toBeLessThanOrEqual(800);
      // It backed off: 10, 20, 40, then at most 100 ms between looks.
      expect(clock.sleeps.slice(0, 4)).toEqual([10, 20, 40, 80]);
      expect(Math.max(...clock.sleeps)).toBeLessThanOrEqual(100);
    });

    it('waits for a turn in flight by reading its record only; a read that finds the key free claims it again', async () => {
      const turn = scope();
      const holder = { ...claim(), key: turn.key, requestHash: canonicalHash(turn.body) };
      await claimed(holder);
      const calls: string[] = [];
      // The owner's handler fails after the third look: it releases the key, and the waiting duplicate runs.
      const watched = watchedStore(store, calls, async (reads) => {
        if (reads === 3) await store.release(holder.callerId, holder.key, holder.owner);
      });
      const service = new IdempotencyService(watched, config, new TestClock());
      const reply = await service.execute(turn, Deadline.after(5000), () =>
        Promise.resolve({ status: 200, json: '{"ran":"here"}', keep: true }),
      );
      expect(reply).toEqual({ status: 200, json: '{"ran":"here"}', replayed: false });
      expect(calls).toEqual(['claim', 'read', 'read', 'read', 'claim']);
    });

    it('waits only for what is left of a budget mostly spent before the store, not for a fresh one', async () => {
      const clock = new TestClock();
      const service = new IdempotencyService(store, config, clock);
      const turn = scope();
      await claimed({ ...claim(), key: turn.key, requestHash: canonicalHash(turn.body) });
      // 1000 ms budget of which 800 ms were spent before the turn reached the store (reading, a pool wait…).
      // The 200 ms left are real time for the store's round trips on a busy machine, too.
      const spent = Deadline.after(1000, performance.now() - 800);
      const started = clock.now();
      const error = await service
        .execute(turn, spent, () => Promise.resolve({ status: 200, json: '{}', keep: true }))
        .catch((caught: unknown) => caught);
      expect((error as AppError).code).toBe('IDEMPOTENCY_IN_PROGRESS');
      expect(clock.now() - started).toBeLessThanOrEqual(200);
    });

    it('takes over a claim whose owner died (its lease ran out), runs the turn and keeps what it made', async () => {
      const service = new IdempotencyService(store, config, new TestClock());
      const turn = scope();
      // A dead owner's claim: its lease ran out already.
      const dead = { ...claim(), key: turn.key, requestHash: canonicalHash(turn.body), leaseMs: 1 };
      await claimed(dead);
      await new Promise((resolve) => setTimeout(resolve, 20));
      let runs = 0;
      const reply = await service.execute(turn, Deadline.after(1000, performance.now() - 600), () => {
        runs += 1;
        return Promise.resolve({ status: 200, json: '{"took":"over"}', keep: true });
      });
      expect(reply).toEqual({ status: 200, json: '{"took":"over"}', replayed: false });
      expect(runs).toBe(1);
      // The claim is the new owner's now: the dead one can no longer complete it.
      expect(await store.complete(dead.callerId, dead.key, dead.owner, 200, '{}')).toBe(false);
      expect(await store.read('bot', turn.key)).toMatchObject({ state: 'completed', body: '{"took":"over"}' });
    });

    it('ends a claim the deadline cuts short in DeadlineReachedError, and frees the key when the claim lands late', async () => {
      const service = new IdempotencyService(slowStore(store, 150), config, new TestClock());
      const turn = scope();
      const error = await service
        .execute(turn, Deadline.after(30), () => Promise.resolve({ status: 200, json: '{}', keep: true }))
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DeadlineReachedError);
      // The late claim is released once it lands: a retry runs the turn.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await store.read('bot', turn.key)).toBeUndefined();
    });

    it('sends a reply at once and stores what retries get when it is ready (work accepted after the deadline)', async () => {
      const service = new IdempotencyService(store, config, new TestClock());
      const turn = scope();
      let accept!: (response: { status: number; json: string }) => void;
      const later = new Promise<{ status: number; json: string }>((resolve) => (accept = resolve));
      const now = await service.execute(turn, Deadline.after(1000), () =>
        Promise.resolve({ status: 200, json: '{"still":"working"}', keep: true, later }),
      );
      expect(now).toEqual({ status: 200, json: '{"still":"working"}', replayed: false });
      accept({ status: 200, json: '{"accepted":true}' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await service.execute(turn, Deadline.after(1000), () => Promise.reject(new Error('ran twice')))).toEqual({
        status: 200,
        json: '{"accepted":true}',
        replayed: true,
      });
    });

    /** Past the first lease (2.2 s for a 100 ms budget): the claim is still its owner's, and a retry waits (409). */
    async function expectOwnerStillHolds(service: IdempotencyService, turn: ReturnType<typeof scope>): Promise<void> {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(await store.read('bot', turn.key)).toMatchObject({ state: 'in-flight', leaseExpired: false });
      const retried = await service
        .execute(turn, Deadline.after(300), () => Promise.reject(new Error('ran twice')))
        .catch((caught: unknown) => caught);
      expect((retried as AppError).code).toBe('IDEMPOTENCY_IN_PROGRESS');
    }

    it('renews the lease while late work outlasts it: a retry meanwhile waits (409), then gets what it made', async () => {
      const service = new IdempotencyService(store, config, new TestClock());
      const turn = scope();
      let accept!: (response: { status: number; json: string }) => void;
      const later = new Promise<{ status: number; json: string }>((resolve) => (accept = resolve));
      // A 100 ms budget: a lease of 2.2 s, renewed every 733 ms while the late work goes on.
      await service.execute(turn, Deadline.after(100), () =>
        Promise.resolve({ status: 200, json: '{"still":"working"}', keep: true, later }),
      );
      await expectOwnerStillHolds(service, turn);
      accept({ status: 200, json: '{"booked":true}' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await service.execute(turn, Deadline.after(300), () => Promise.reject(new Error('ran twice')))).toEqual({
        status: 200,
        json: '{"booked":true}',
        replayed: true,
      });
    });

    it('renews the lease while storing the response outlasts it: a retry meanwhile waits (409), it never runs twice', async () => {
      // Completing the claim is slow (the pool busy, a commit waiting on a lock): slower than the whole lease.
      let completing!: () => void;
      const slowCompletes = new Promise<void>((resolve) => (completing = resolve));
      const slowStore = Object.create(store) as IdempotencyStore;
      slowStore.complete = async (...args: Parameters<IdempotencyStore['complete']>) => {
        await slowCompletes;
        return store.complete(...args);
      };
      const service = new IdempotencyService(slowStore, config, new TestClock());
      const turn = scope();
      // A 100 ms budget: a lease of 2.2 s. The reply goes at the deadline while the response is being stored.
      expect(
        await service.execute(turn, Deadline.after(100), () =>
          Promise.resolve({ status: 200, json: '{"moved":true}', keep: true }),
        ),
      ).toEqual({ status: 200, json: '{"moved":true}', replayed: false });
      await expectOwnerStillHolds(service, turn);
      completing();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await service.execute(turn, Deadline.after(300), () => Promise.reject(new Error('ran twice')))).toEqual({
        status: 200,
        json: '{"moved":true}',
        replayed: true,
      });
    });

    it('gives up late work that never settles (a handler deaf to its signal) past LATE_WORK_TIMEOUT_MS: the key is freed', async () => {
      const shortLate = loadConfig({ DATABASE_URL: 'postgres://unused/x', LATE_WORK_TIMEOUT_MS: '300' }, '/srv');
      const service = new IdempotencyService(store, shortLate, new TestClock());
      const turn = scope();
      const never = new Promise<{ status: number; json: string }>(() => undefined);
      await service.execute(turn, Deadline.after(100), () =>
        Promise.resolve({ status: 200, json: '{"still":"working"}', keep: true, later: never }),
      );
      // Before, the lease was renewed for as long as the process lived, and every retry got 409. Now the key goes
      // once the late work is past the deadline, LATE_WORK_TIMEOUT_MS and a lease margin.
      await new Promise((resolve) => setTimeout(resolve, 100 + 300 + LEASE_MARGIN_MS));
      await eventually(async () => expect(await store.read(turn.callerId, turn.key)).toBeUndefined(), 10_000);
      expect(
        await service.execute(turn, Deadline.after(1000), () =>
          Promise.resolve({ status: 200, json: '{"ran":"again"}', keep: true }),
        ),
      ).toEqual({ status: 200, json: '{"ran":"again"}', replayed: false });
    });

    it('frees the key when late work settles to nothing, so a retry runs again', async () => {
      const service = new IdempotencyService(store, config, new TestClock());
      const turn = scope();
      await service.execute(turn, Deadline.after(1000), () =>
        Promise.resolve({ status: 200, json: '{"still":"working"}', keep: true, later: Promise.resolve(undefined) }),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(
        await service.execute(turn, Deadline.after(1000), () =>
          Promise.resolve({ status: 200, json: '{"ran":"again"}', keep: true }),
        ),
      ).toEqual({ status: 200, json: '{"ran":"again"}', replayed: false });
    });

    it('releases the key when the handler throws, so the retry runs again', async () => {
      const service = new IdempotencyService(store, config, new TestClock());
      const turn = scope();
      await expect(
        service.execute(turn, Deadline.after(1000), () => Promise.reject(new Error('core banking down'))),
      ).rejects.toThrow('core banking down');
      expect(
        await service.execute(turn, Deadline.after(1000), () =>
          Promise.resolve({ status: 200, json: '{"ok":true}', keep: true }),
        ),
      ).toMatchObject({
        json: '{"ok":true}',
        replayed: false,
      });
    });
  });
});

/**
 * The store with each claim and read noted in `calls` (`claim`, `read`); `beforeRead` runs before each read, given how
 * many reads there have been so far, this one included.
 */
function watchedStore(
  store: IdempotencyStore,
  calls: string[],
  beforeRead?: (reads: number) => Promise<void>,
): IdempotencyStore {
  return Object.assign(Object.create(store) as IdempotencyStore, {
    claimOrRead: (request: ClaimRequest) => {
      calls.push('claim');
      return store.claimOrRead(request);
    },
    read: async (callerId: string, key: string) => {
      calls.push('read');
      await beforeRead?.(calls.filter((call) => call === 'read').length);
      return store.read(callerId, key);
    },
  });
}

/** The store with every claim answered `delayMs` late (a slow or busy database). */
function slowStore(store: IdempotencyStore, delayMs: number): IdempotencyStore {
  return Object.assign(Object.create(store) as IdempotencyStore, {
    claimOrRead: async (request: ClaimRequest) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return store.claimOrRead(request);
    },
  });
}
