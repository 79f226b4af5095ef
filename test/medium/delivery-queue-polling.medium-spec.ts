import type { ClientConfig } from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { DELIVERY_CONCURRENCY } from '../../src/async/delivery-queues';
import { JobQueue } from '../../src/async/job-queue';
import type { QueueDefinition } from '../../src/async/queue-definition';
import { loadConfig } from '../../src/config';
import type { DatabasePool } from '../../src/database/database-pool';
import type { GuardedClientClass } from '../../src/database/guarded-client';
import { eventually } from '../support/eventually';
import { mediumDatabase, MediumDatabase } from './support/medium-database';

/** The least ASYNC_POLL_INTERVAL_MS allows. */
const POLL_INTERVAL_MS = 500;
const IDLE_INTERVALS = 10;

/** pg-boss's connections, counting the fetches (its only statement that takes jobs `FOR UPDATE SKIP LOCKED`). */
function countingFetches(base: GuardedClientClass, counter: { fetches: number }): GuardedClientClass {
  return class extends base {
    constructor(config?: string | ClientConfig) {
      super(config);
      const query = this.query.bind(this) as (...args: unknown[]) => unknown;
      (this as { query: unknown }).query = (...args: unknown[]) => {
        const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: unknown } | undefined)?.text;
        if (typeof text === 'string' && text.includes('SKIP LOCKED')) counter.fetches += 1;
        return query(...args);
      };
    }
  };
}

function deliveryLikeQueue(name: string): QueueDefinition {
  return {
    name,
    expireInSeconds: 30,
    retryLimit: 0,
    retryDelaySeconds: 1,
    concurrency: DELIVERY_CONCURRENCY,
    idleLanesTakeTurns: true,
  };
}

/**
 * Each caller's deliveries have a queue with lanes of its own: what an idle one costs PostgreSQL, and one known only
 * after the start (a caller a callers-file reload added).
 */
describe('delivery queues on PostgreSQL (JobQueue, pg-boss, no Nest)', () => {
  let db: MediumDatabase;
  const counter = { fetches: 0 };
  let queue: JobQueue;
  const ran: { name: string; at: number }[] = [];

  beforeAll(async () => {
    db = await mediumDatabase();
    const config = loadConfig(
      { DATABASE_URL: db.database.url, ASYNC_POLL_INTERVAL_MS: String(POLL_INTERVAL_MS) },
      '/srv',
    );
    // The service's pool, but pg-boss's connections count the fetches they send.
    const database = Object.assign(Object.create(db.pool) as DatabasePool, {
      clientClass: (readTimeoutMs: number) => countingFetches(db.pool.clientClass(readTimeoutMs), counter),
    });
    queue = new JobQueue(config, database);
    queue.work(deliveryLikeQueue('medium-idle'), (job) => {
      ran.push({ name: job.name, at: Date.now() });
      return Promise.resolve();
    });
    await queue.onApplicationBootstrap();
  });
  afterAll(async () => {
    await queue?.stop();
    await db.close();
  });

  it('an idle queue of eight lanes asks PostgreSQL about once per poll interval, and still takes a job in time', async () => {
    await sleep(2 * POLL_INTERVAL_MS);
    counter.fetches = 0;
    await sleep(IDLE_INTERVALS * POLL_INTERVAL_MS);
    // Once per interval, and a little more where lanes ask at once. Before, every lane asked: 8 × 10.
    expect(counter.fetches).toBeGreaterThanOrEqual(IDLE_INTERVALS / 2);
    expect(counter.fetches).toBeLessThanOrEqual(2 * IDLE_INTERVALS);

    const sentAt = Date.now();
    await queue.send('medium-idle', {});
    await eventually(() => expect(ran).toHaveLength(1), 5_000, 10);
    expect(ran[0].at - sentAt).toBeLessThan(2 * POLL_INTERVAL_MS + 250);
  });

  it('a queue first asked for once the queue runs is created and worked, however often it is asked for', async () => {
    const late = deliveryLikeQueue('medium-added-later');
    expect(queue.isWorked(late.name)).toBe(false);
    const handler = (job: { name: string }) => {
      ran.push({ name: job.name, at: Date.now() });
      return Promise.resolve();
    };
    await Promise.all([queue.workNow(late, handler), queue.workNow(late, handler)]);
    await queue.workNow(late, handler);
    expect(queue.isWorked(late.name)).toBe(true);
    expect(await queue.queueNames()).toContain(late.name);

    for (let i = 0; i < 3; i++) await queue.send(late.name, {});
    await eventually(() => expect(ran.filter((entry) => entry.name === late.name)).toHaveLength(3), 5_000);
    expect(await queue.queueSize(late.name)).toBe(0);
  });
});
