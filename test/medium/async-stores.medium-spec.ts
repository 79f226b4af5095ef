import { randomUUID } from 'node:crypto';
import { CallbackDeliveries } from '../../src/async/callback-deliveries';
import { listDeliveries, reopenDelivery } from '../../src/async/delivery-admin';
import { FulfillmentResults } from '../../src/async/fulfillment-results';
import type { JobQueue } from '../../src/async/job-queue';
import { CallerRegistry } from '../../src/auth/callers/caller-registry';
import { PostgresReplayStore } from '../../src/auth/replay/postgres-replay.store';
import { loadConfig } from '../../src/config';
import type { OutboundHttpClient } from '../../src/outbound';
import { Client } from 'pg';
import { PgPools } from '../../src/database/pg-pools';
import { AnswerLosingPool } from './support/answer-losing-pool';
import { testPool } from './support/test-pool';
import { transactionOn } from '../../src/database/sql';
import { untilDefined } from '../support/eventually';
import { TestClock } from '../support/test-clock';
import { mediumDatabase, MediumDatabase } from './support/medium-database';

const config = loadConfig({ DATABASE_URL: 'postgres://unused/x' }, '/srv');
const CALLER = { id: 'bot', platforms: ['generic' as const] };
const TURN = { caller: CALLER, platform: 'generic' as const, sessionId: 'session-1', intent: 'ExportStatements' };
const LATE_TURN = {
  ...TURN,
  requestId: 'turn-1',
  idempotencyKey: 'bot:turn-1',
  parameters: {},
  contexts: [],
  sessionParameters: {},
  stage: 'fulfillment' as const,
  confirmation: 'none' as const,
  languageCode: 'en',
  raw: {},
};

describe('async stores on PostgreSQL (no Nest)', () => {
  let db: MediumDatabase;
  let results: FulfillmentResults;
  let callbacks: CallbackDeliveries;
  let clock: TestClock;

  let pgPool: ReturnType<typeof testPool>;

  beforeAll(async () => {
    db = await mediumDatabase();
    pgPool = testPool({ connectionString: db.database.url, max: 2 });
    clock = new TestClock();
    // Callers without a callback URL: finishing stores the result and queues nothing.
    callbacks = new CallbackDeliveries(
      db.pool,
      {} as JobQueue,
      new CallerRegistry([]),
      {} as OutboundHttpClient,
      config,
    );
    results = new FulfillmentResults(db.pool, config, callbacks, clock);
  });
  afterAll(async () => {
    await pgPool.end();
    await db.close();
  });

  /**
   * A store whose clock writes fulfillment `id`'s record while a lookup sleeps for the second time, as another
   * replica would.
   */
  function recordedOnSecondLook(id: string): { clock: TestClock; results: FulfillmentResults } {
    class RecordingLaterClock extends TestClock {
      override async sleep(ms: number, signal?: AbortSignal): Promise<void> {
        await super.sleep(ms, signal);
        if (this.sleeps.length === 2) await results.insert(id, TURN, 'deferred', 'running');
      }
    }
    const later = new RecordingLaterClock();
    return { clock: later, results: new FulfillmentResults(db.pool, config, callbacks, later) };
  }

  describe('FulfillmentResults', () => {
    it('keeps a result once: the first finish wins, a repeated one is ignored', async () => {
      const id = randomUUID();
      await results.insert(id, TURN, 'async', 'queued');
      await results.markRunning(id);
      expect(await results.find(id, CALLER.id)).toMatchObject({
        id,
        status: 'running',
        result: null,
        completedAt: null,
      });
      await results.finish(id, 'completed', { text: 'done' });
      await results.finish(id, 'failed', { text: 'too late' });
      const stored = await results.find(id, CALLER.id);
      expect(stored).toMatchObject({
        status: 'completed',
        result: { text: 'done' },
        sessionId: 'session-1',
        mode: 'async',
      });
      expect(stored?.completedAt).toBeInstanceOf(Date);
    });

    it('shows a fulfillment only to the caller that started it, and nothing for a malformed id', async () => {
      const id = randomUUID();
      await results.insert(id, TURN, 'deferred', 'running');
      expect(await results.find(id, 'someone-else')).toBeUndefined();
      expect(await results.find('not-a-uuid', CALLER.id)).toBeUndefined();
    });

    it('waits for a result within its time only (test clock: no waiting)', async () => {
      const id = randomUUID();
      await results.insert(id, TURN, 'deferred', 'running');
      const until = clock.now() + 1000;
      expect(await results.waitFor(id, CALLER.id, until)).toMatchObject({ status: 'running' });
      expect(clock.now()).toBe(until);
      const finished = randomUUID();
      await results.insert(finished, TURN, 'deferred', 'running');
      await results.finish(finished, 'completed', { text: 'ready' });
      expect(await results.waitFor(finished, CALLER.id, clock.now() + 1000)).toMatchObject({ status: 'completed' });
    });
    it('shows late work as running while its record is still being written, then its stored result', async () => {
      // A SHARE lock lets reads through and holds every INSERT: the record cannot commit until it is released.
      const blocker = new Client({ connectionString: db.database.url });
      await blocker.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query('LOCK TABLE fulfillments IN SHARE MODE');
        let finishWork!: (result: { text: string }) => void;
        const work = new Promise<{ text: string }>((resolve) => (finishWork = resolve));
        const id = results.defer(LATE_TURN, work);
        expect(await results.find(id, CALLER.id)).toMatchObject({ id, status: 'running', sessionId: 'session-1' });
        expect(await results.find(id, 'someone-else')).toBeUndefined();
        finishWork({ text: 'late but here' });
        await blocker.query('COMMIT');
        const stored = await untilDefined(async () => {
          const found = await results.find(id, CALLER.id);
          return found?.status === 'completed' ? found : undefined;
        });
        expect(stored).toMatchObject({ result: { text: 'late but here' }, mode: 'deferred', sessionId: 'session-1' });
      } finally {
        await blocker.end();
      }
    });
    it("stores late work's result when its first record committed and the answer was lost (no second INSERT fails it)", async () => {
      // The first record commits, and its connection drops before the answer comes back; the second one is heard.
      const pool = new AnswerLosingPool(PgPools.of(pgPool));
      pool.losing = 'fulfillments_insert';
      const losing = new FulfillmentResults(pool, config, callbacks, clock);
      const id = losing.defer(LATE_TURN, Promise.resolve({ text: 'done despite the lost answer' }));
      expect(await losing.lateWorkStored(10_000)).toBe(0);
      expect(await results.find(id, CALLER.id)).toMatchObject({
        status: 'completed',
        result: { text: 'done despite the lost answer' },
      });
    });

    it('on shutdown, waits for late work to store its result, within the time it is given', async () => {
      expect(await results.lateWorkStored(1000)).toBe(0);
      let finishWork!: (result: { text: string }) => void;
      const id = results.defer(LATE_TURN, new Promise((resolve) => (finishWork = resolve)));
      // Still running when the time is up: counted, not waited for.
      expect(await results.lateWorkStored(100)).toBe(1);
      setTimeout(() => finishWork({ text: 'stored before the pools close' }), 200);
      expect(await results.lateWorkStored(10_000)).toBe(0);
      expect(await results.find(id, CALLER.id)).toMatchObject({
        status: 'completed',
        result: { text: 'stored before the pools close' },
      });
    });

    it('looks for a fulfillment not found yet again for a grace period, then gives up before its deadline', async () => {
      const id = randomUUID();
      const { clock: later, results: waiting } = recordedOnSecondLook(id);
      const until = later.now() + 5000;
      expect(await waiting.waitFor(id, CALLER.id, until, undefined, 1000)).toMatchObject({ id, status: 'running' });
      // Found on the third look, then waited on for its result until the deadline.
      expect(later.now()).toBe(until);

      const start = clock.now();
      expect(await results.waitFor(randomUUID(), CALLER.id, start + 5000, undefined, 1000)).toBeUndefined();
      expect(clock.now() - start).toBe(1000);
      // Without a grace, or for an id that cannot be one, at once.
      expect(await results.waitFor(randomUUID(), CALLER.id, clock.now() + 5000)).toBeUndefined();
      expect(await results.waitFor('not-a-uuid', CALLER.id, clock.now() + 5000, undefined, 1000)).toBeUndefined();
      expect(clock.now() - start).toBe(1000);
    });

    it('finds for a poll a record that commits within the grace (another replica writing it), at once once it is there', async () => {
      const id = randomUUID();
      const { clock: later, results: polling } = recordedOnSecondLook(id);
      expect(await polling.findSoon(id, CALLER.id, 1000)).toMatchObject({ id, status: 'running' });
      expect(later.sleeps).toHaveLength(2);
      // Found at once: no waiting. Not there (or another caller's): looked for until the grace is over.
      expect(await polling.findSoon(id, CALLER.id, 1000)).toMatchObject({ id });
      expect(later.sleeps).toHaveLength(2);
      const start = later.now();
      expect(await polling.findSoon(id, 'someone-else', 1000)).toBeUndefined();
      expect(later.now() - start).toBe(1000);
    });
  });

  describe('FulfillmentResults.queueTurn', () => {
    const queue = (key: string): Promise<string> =>
      db.pool.transaction((tx) => results.queueTurn(randomUUID(), TURN, key, tx));
    const keyOf = (n: number): string => String(n).padStart(64, 'k');

    it('queues a turn once per key: the same key again finds the fulfillment already queued', async () => {
      const first = await queue(keyOf(1));
      expect(await queue(keyOf(1))).toBe(first);
      expect(await queue(keyOf(2))).not.toBe(first);
      expect(await db.query('SELECT id FROM fulfillments WHERE idempotency_key = $1', [keyOf(1)])).toEqual([
        { id: first },
      ]);
    });

    it('gives the key of an expired fulfillment (not yet purged) to a new one, whose id can be found', async () => {
      const expired = await queue(keyOf(3));
      await db.query(`UPDATE fulfillments SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired]);
      expect(await results.find(expired, CALLER.id)).toBeUndefined();

      const fresh = await queue(keyOf(3));
      expect(fresh).not.toBe(expired);
      expect(await results.find(fresh, CALLER.id)).toMatchObject({ id: fresh, status: 'queued', mode: 'async' });
      const rows = await db.query<{ id: string; key: string | null }>(
        'SELECT id, idempotency_key AS key FROM fulfillments WHERE id = ANY($1) ORDER BY created_at',
        [[expired, fresh]],
      );
      expect(rows).toEqual(
        expect.arrayContaining([
          { id: expired, key: null },
          { id: fresh, key: keyOf(3) },
        ]),
      );
      // And the new one keeps it.
      expect(await queue(keyOf(3))).toBe(fresh);
    });
  });

  describe('PostgresReplayStore', () => {
    it('binds a message id to its body digest within its window, and frees it once the window has passed', async () => {
      const store = new PostgresReplayStore(db.pool);
      const id = `msg_${randomUUID()}`;
      const body = 'a'.repeat(64);
      const other = 'b'.repeat(64);
      expect(await store.remember('bot', id, body, 300)).toBe('accepted');
      expect(await store.remember('bot', id, body, 300)).toBe('accepted');
      expect(await store.remember('bot', id, other, 300)).toBe('conflict');
      expect(await store.remember('other-bot', id, other, 300)).toBe('accepted');
      const brief = `msg_${randomUUID()}`;
      expect(await store.remember('bot', brief, body, 0)).toBe('accepted');
      expect(await store.remember('bot', brief, other, 300)).toBe('accepted');
    });

    it('keeps the later expiry on a redelivery, and leaves the entry alone on a conflict', async () => {
      const store = new PostgresReplayStore(db.pool);
      const id = `msg_${randomUUID()}`;
      const expiry = async (): Promise<number> => {
        const [row] = await db.query<{ left: number }>(
          `SELECT extract(epoch FROM expires_at - now())::float8 AS left FROM replay_guard WHERE message_id = $1`,
          [id],
        );
        return row.left;
      };
      await store.remember('bot', id, 'a'.repeat(64), 100);
      await store.remember('bot', id, 'a'.repeat(64), 500);
      expect(await expiry()).toBeGreaterThan(400);
      await store.remember('bot', id, 'a'.repeat(64), 50);
      expect(await expiry()).toBeGreaterThan(400);
      expect(await store.remember('bot', id, 'b'.repeat(64), 900)).toBe('conflict');
      expect(await expiry()).toBeLessThan(600);
    });

    it('treats an entry without a digest (written before digests were kept) as a conflict', async () => {
      const store = new PostgresReplayStore(db.pool);
      const id = `msg_${randomUUID()}`;
      await db.query(
        `INSERT INTO replay_guard (caller_id, message_id, expires_at) VALUES ('bot', $1, now() + interval '5 minutes')`,
        [id],
      );
      expect(await store.remember('bot', id, 'a'.repeat(64), 300)).toBe('conflict');
    });
  });

  describe('CallbackDeliveries.attempt', () => {
    it('does nothing for a stale copy of a job (another attempt count), and goes on for the current one', async () => {
      const fulfillmentId = randomUUID();
      await results.insert(fulfillmentId, TURN, 'async', 'queued');
      await db.query(
        `INSERT INTO callback_deliveries (id, fulfillment_id, caller_id, url, payload, status, attempts, updated_at)
         VALUES ('msg_stale', $1, 'bot', 'https://bot.example/results', '{}', 'pending', 2, now() - interval '1 hour')`,
        [fulfillmentId],
      );
      const row = async () =>
        (
          await db.query<{ status: string; attempts: number; stale: boolean }>(
            `SELECT status, attempts, updated_at < now() - interval '30 minutes' AS stale
             FROM callback_deliveries WHERE id = 'msg_stale'`,
          )
        )[0];
      // No HTTP client and no callers: reaching either would throw or settle the delivery.
      const deliveries = new CallbackDeliveries(
        db.pool,
        {} as JobQueue,
        new CallerRegistry([]),
        {} as OutboundHttpClient,
        config,
      );
      // A job queued after the first attempt, run again after the second (pg-boss could not record its end).
      await deliveries.attempt({ deliveryId: 'msg_stale', attempt: 1 });
      expect(await row()).toEqual({ status: 'pending', attempts: 2, stale: true });
      // One of the same attempt, queued for another time than the delivery's next (an earlier put-off's copy).
      await db.query(
        `UPDATE callback_deliveries SET next_attempt_at = now() + interval '1 minute' WHERE id = 'msg_stale'`,
      );
      await deliveries.attempt({ deliveryId: 'msg_stale', attempt: 2, due: Date.now() - 60_000 });
      expect(await row()).toEqual({ status: 'pending', attempts: 2, stale: true });
      // The current job goes on (here: the caller is gone, so the delivery is dead, from 2 attempts).
      await deliveries.attempt({ deliveryId: 'msg_stale', attempt: 2 });
      expect(await row()).toEqual({ status: 'dead', attempts: 2, stale: false });
      await db.query(`DELETE FROM callback_deliveries WHERE id = 'msg_stale'`);
    });
  });

  describe('delivery administration', () => {
    it('lists deliveries by status and reopens a dead one, re-enabling its URL', async () => {
      const fulfillmentId = randomUUID();
      await results.insert(fulfillmentId, TURN, 'async', 'queued');
      await db.query(
        `INSERT INTO callback_deliveries (id, fulfillment_id, caller_id, url, payload, status, attempts, last_error)
         VALUES ('msg_dead', $1, 'bot', 'https://bot.example/results', '{}', 'dead', 7, 'timeout')`,
        [fulfillmentId],
      );
      await db.query(`INSERT INTO disabled_callbacks (caller_id, url) VALUES ('bot', 'https://bot.example/results')`);
      const client = new Client({ connectionString: db.database.url });
      await client.connect();
      const tx = transactionOn(client);
      try {
        expect(await listDeliveries(tx, { status: 'dead', limit: 10 })).toEqual([
          expect.objectContaining({
            id: 'msg_dead',
            callerId: 'bot',
            attempts: 7,
            lastError: 'timeout',
            status: 'dead',
          }),
        ]);
        expect(await listDeliveries(tx, { status: 'pending', limit: 10 })).toEqual([]);
        expect(await listDeliveries(tx, { callerId: 'someone-else', limit: 10 })).toEqual([]);
        const unknownUrl = () => undefined;
        expect(await reopenDelivery(tx, 'msg_dead', unknownUrl)).toMatchObject({
          status: 'pending',
          attempts: 0,
          lastError: null,
          url: 'https://bot.example/results',
        });
        expect(await reopenDelivery(tx, 'msg_dead', unknownUrl)).toBeUndefined();
      } finally {
        await client.end();
      }
      expect(await db.query('SELECT 1 FROM disabled_callbacks')).toEqual([]);
    });

    it("reopens a delivery to its caller's callback URL now, and enables that URL, not the one it died at", async () => {
      const fulfillmentId = randomUUID();
      await results.insert(fulfillmentId, TURN, 'async', 'queued');
      await db.query(
        `INSERT INTO callback_deliveries (id, fulfillment_id, caller_id, url, payload, status, attempts, last_error)
         VALUES ('msg_moved', $1, 'bot', 'https://old.bot.example/results', '{}', 'disabled', 1, 'gone')`,
        [fulfillmentId],
      );
      // Both disabled: the old one by the 410 the delivery met, the new one by an operator since.
      await db.query(
        `INSERT INTO disabled_callbacks (caller_id, url)
         VALUES ('bot', 'https://old.bot.example/results'), ('bot', 'https://new.bot.example/results')`,
      );
      const client = new Client({ connectionString: db.database.url });
      await client.connect();
      try {
        const urls = (callerId: string) => (callerId === 'bot' ? 'https://new.bot.example/results' : undefined);
        expect(await reopenDelivery(transactionOn(client), 'msg_moved', urls)).toMatchObject({
          id: 'msg_moved',
          status: 'pending',
          attempts: 0,
          url: 'https://new.bot.example/results',
        });
      } finally {
        await client.end();
      }
      expect(await db.query(`SELECT url, status FROM callback_deliveries WHERE id = 'msg_moved'`)).toEqual([
        { url: 'https://new.bot.example/results', status: 'pending' },
      ]);
      expect(await db.query('SELECT url FROM disabled_callbacks')).toEqual([
        { url: 'https://old.bot.example/results' },
      ]);
      await db.query(`DELETE FROM disabled_callbacks`);
      await db.query(`DELETE FROM callback_deliveries WHERE id = 'msg_moved'`);
    });
  });
});
