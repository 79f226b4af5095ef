import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { JobQueue } from '../../src/async/job-queue';
import { loadConfig } from '../../src/config';
import { APPLICATION_NAME } from '../../src/database/data-source-options';
import { DatabasePool } from '../../src/database/database-pool';
import { PgPools } from '../../src/database/pg-pools';
import { eventually } from '../support/eventually';
import { mediumDatabase, MediumDatabase } from './support/medium-database';
import { testPool } from './support/test-pool';

/** The advisory lock key replicas create queues under (`QUEUE_CREATION_LOCK` in src/async/queue-creation.ts). */
const QUEUE_CREATION_LOCK = 0x77667163;

const REPLICAS = 3;
const QUEUES = 30;

describe('Queues made by replicas starting together (pg-boss on PostgreSQL, no Nest)', () => {
  let db: MediumDatabase;
  beforeAll(async () => {
    db = await mediumDatabase();
  });
  afterAll(() => db.close());

  const deadlocks = async () =>
    Number(
      (
        await db.query<{ deadlocks: string }>(
          'SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()',
        )
      )[0].deadlocks,
    );

  it('makes each queue once, with its settings, and no replica deadlocks another', async () => {
    const config = loadConfig({ DATABASE_URL: db.database.url, ASYNC_POLL_INTERVAL_MS: '500' }, '/srv');
    const names = Array.from({ length: QUEUES }, (_, index) => `medium-caller-${index}`);
    const replicas = Array.from({ length: REPLICAS }, () => {
      const queue = new JobQueue(config, db.pool);
      queue.work({ name: 'medium-dead', expireInSeconds: 30, retryLimit: 0, retryDelaySeconds: 1 }, async () => {});
      for (const name of names) {
        const settings = { expireInSeconds: 45, retryLimit: 3, retryDelaySeconds: 2, deadLetter: 'medium-dead' };
        queue.work({ name, ...settings }, async () => {});
      }
      return queue;
    });
    const before = await deadlocks();
    try {
      const outcomes = await Promise.allSettled(replicas.map((queue) => queue.onApplicationBootstrap()));
      expect(outcomes.map((outcome) => outcome.status)).toEqual(replicas.map(() => 'fulfilled'));
      // What a callers-file reload does on every replica at about the same time: a new caller's queue, at once.
      await Promise.all(
        replicas.map((queue) =>
          queue.workNow(
            { name: 'medium-added', expireInSeconds: 30, retryLimit: 1, retryDelaySeconds: 1 },
            async () => {},
          ),
        ),
      );
    } finally {
      await Promise.all(replicas.map((queue) => queue.stop()));
    }
    const queues = await db.query<{ name: string; retry_limit: number; expire_seconds: number; dead_letter: string }>(
      "SELECT name, retry_limit, expire_seconds, dead_letter FROM pgboss.queue WHERE name LIKE 'medium-%' ORDER BY name",
    );
    expect(queues).toHaveLength(QUEUES + 2);
    expect(queues.find(({ name }) => name === 'medium-caller-7')).toEqual({
      name: 'medium-caller-7',
      retry_limit: 3,
      expire_seconds: 45,
      dead_letter: 'medium-dead',
    });
    // A backend reports its deadlocks to the statistics by the time it exits: wait for the queues' connections to end.
    await eventually(async () =>
      expect(
        await db.query(
          'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1',
          [`${APPLICATION_NAME}-jobs`],
        ),
      ).toEqual([]),
    );
    await sleep(500);
    expect((await deadlocks()) - before).toBe(0);
  }, 120_000);

  it('waits for a slow holder of the queue-creation lock past the statement timeout, and then starts', async () => {
    // The wait for the lock ran under the pool's statement_timeout (3 s by default): a waiter was cancelled (57014)
    // while another replica created a queue slowly, and its job queue did not start.
    const statementTimeoutMs = 500;
    const pg = testPool({ connectionString: db.database.url, max: 4, statement_timeout: statementTimeoutMs });
    const holder = new Client({ connectionString: db.database.url });
    await holder.connect();
    const queue = new JobQueue(
      loadConfig({ DATABASE_URL: db.database.url, ASYNC_POLL_INTERVAL_MS: '500' }, '/srv'),
      new DatabasePool(PgPools.of(pg)),
    );
    queue.work(
      { name: 'medium-slowly-locked', expireInSeconds: 30, retryLimit: 0, retryDelaySeconds: 1 },
      async () => {},
    );
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [QUEUE_CREATION_LOCK]);
      const started = queue.onApplicationBootstrap().then(
        () => 'started',
        (error: unknown) => error,
      );
      await sleep(statementTimeoutMs * 5);
      await holder.query('SELECT pg_advisory_unlock($1)', [QUEUE_CREATION_LOCK]);
      expect(await started).toBe('started');
      expect(await db.query("SELECT name FROM pgboss.queue WHERE name = 'medium-slowly-locked'")).toEqual([
        { name: 'medium-slowly-locked' },
      ]);
    } finally {
      await queue.stop();
      await holder.end();
      await pg.end();
    }
  }, 60_000);
});
