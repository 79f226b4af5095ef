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
import { TestClock } from '../support/test-clock';
import { mediumDatabase, MediumDatabase } from './support/medium-database';

const config = loadConfig({ DATABASE_URL: 'postgres://unused/x' }, '/srv');
const CALLER = { id: 'bot', platforms: ['generic' as const] };
const TURN = { caller: CALLER, platform: 'generic' as const, sessionId: 'session-1', intent: 'ExportStatements' };

describe('async stores on PostgreSQL (no Nest)', () => {
  let db: MediumDatabase;
  let results: FulfillmentResults;
  let clock: TestClock;

  beforeAll(async () => {
    db = await mediumDatabase();
    clock = new TestClock();
    // Callers without a callback URL: finishing stores the result and queues nothing.
    const callbacks = new CallbackDeliveries(
      db.pool,
      {} as JobQueue,
      new CallerRegistry([]),
      {} as OutboundHttpClient,
      config,
    );
    results = new FulfillmentResults(db.pool, config, callbacks, clock);
  });
  afterAll(() => db.close());

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
  });

  describe('PostgresReplayStore', () => {
    it('accepts a message id once within its window, and again once the window has passed', async () => {
      const store = new PostgresReplayStore(db.pool);
      const id = `msg_${randomUUID()}`;
      expect(await store.remember('bot', id, 300)).toBe(true);
      expect(await store.remember('bot', id, 300)).toBe(false);
      expect(await store.remember('other-bot', id, 300)).toBe(true);
      const brief = `msg_${randomUUID()}`;
      expect(await store.remember('bot', brief, 0)).toBe(true);
      expect(await store.remember('bot', brief, 300)).toBe(true);
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
      try {
        expect(await listDeliveries(client, 'dead', 10)).toEqual([
          expect.objectContaining({
            id: 'msg_dead',
            callerId: 'bot',
            attempts: 7,
            lastError: 'timeout',
            status: 'dead',
          }),
        ]);
        expect(await listDeliveries(client, 'pending', 10)).toEqual([]);
        expect(await reopenDelivery(client, 'msg_dead')).toMatchObject({
          status: 'pending',
          attempts: 0,
          lastError: null,
        });
        expect(await reopenDelivery(client, 'msg_dead')).toBeUndefined();
      } finally {
        await client.end();
      }
      expect(await db.query('SELECT 1 FROM disabled_callbacks')).toEqual([]);
    });
  });
});
