import { setTimeout as sleep } from 'node:timers/promises';
import type PgBoss from 'pg-boss';
import type { DatabasePool } from '../database/database-pool';
import { sql } from '../database/sql';
import type { QueueDefinition } from './queue-definition';

/** Advisory lock key held while a queue is created ("wfqc" in ASCII). */
const QUEUE_CREATION_LOCK = 0x77667163;
const LOCK_QUEUE_CREATION = sql<{ locked: '' }, [key: number]>(
  'queue_creation_lock',
  'SELECT pg_advisory_xact_lock($1)::text AS locked',
);
const DEADLOCK = '40P01';
const QUERY_CANCELED = '57014';
/** How many attempts a failure with this code is given (counted together): others are not tried again. */
const ATTEMPTS: Readonly<Record<string, number>> = {
  [DEADLOCK]: 5,
  // The wait for the lock runs under the pool's statement_timeout (3 s by default): while another replica creates a
  // queue slowly, waiters are cancelled, and start-up failed. They wait again; a holder's session is ended anyway
  // after 4 × statement_timeout idle in its transaction, so a few waits cover even two replicas ahead.
  [QUERY_CANCELED]: 10,
};

type QueueOptions = PgBoss.Queue & { readonly name: string };

function optionsOf(queue: QueueDefinition): QueueOptions {
  return {
    name: queue.name,
    expireInSeconds: queue.expireInSeconds,
    retryLimit: queue.retryLimit,
    retryDelay: queue.retryDelaySeconds,
    retryBackoff: true,
    ...(queue.deadLetter && { deadLetter: queue.deadLetter }),
  };
}

/** Whether the queue as stored has every setting `options` gives (pg-boss's update keeps what it is not given). */
function hasSettings(stored: PgBoss.QueueResult, options: QueueOptions): boolean {
  return (
    stored.expireInSeconds === options.expireInSeconds &&
    stored.retryLimit === options.retryLimit &&
    stored.retryDelay === options.retryDelay &&
    stored.retryBackoff === options.retryBackoff &&
    (options.deadLetter === undefined || stored.deadLetter === options.deadLetter)
  );
}

/**
 * Creates the queues that are missing and gives each its settings where they differ (in the order given: a
 * dead-letter queue before a queue that names it). pg-boss's `create_queue` inserts the queue's row and then adds a
 * foreign key to the queue table: two replicas creating queues at once each hold what the other's next step waits
 * for, and PostgreSQL ends one of them after `deadlock_timeout`, a second each (three replicas starting together
 * with 30 callers' queues took 18 s and 18 deadlocks). So replicas create queues one at a time, under an advisory
 * lock; a deadlock with a replica of an earlier release, which does not take it, is tried again, and so is a wait
 * for the lock that outlasted the statement timeout.
 */
export async function ensureQueues(
  boss: PgBoss,
  database: DatabasePool,
  queues: readonly QueueDefinition[],
): Promise<void> {
  const stored = new Map((await boss.getQueues()).map((queue) => [queue.name, queue]));
  for (const queue of queues) {
    const options = optionsOf(queue);
    const known = stored.get(queue.name);
    if (!known) await againWhenBusy(() => createQueue(boss, database, options));
    else if (!hasSettings(known, options)) await againWhenBusy(() => boss.updateQueue(queue.name, options));
  }
}

async function createQueue(boss: PgBoss, database: DatabasePool, options: QueueOptions): Promise<void> {
  await database.transaction(async (transaction) => {
    await transaction.run(LOCK_QUEUE_CREATION, [QUEUE_CREATION_LOCK]);
    // Another replica may have made it while this one waited for the lock.
    const made = await boss.getQueue(options.name);
    if (!made) await boss.createQueue(options.name, options);
    else if (!hasSettings(made, options)) await boss.updateQueue(options.name, options);
  });
}

async function againWhenBusy(step: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await step();
    } catch (error: unknown) {
      const code = (error as { code?: unknown } | null)?.code;
      if (attempt >= (typeof code === 'string' ? (ATTEMPTS[code] ?? 0) : 0)) throw error;
      await sleep(50 * attempt + Math.random() * 100);
    }
  }
}
