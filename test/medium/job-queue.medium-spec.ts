import { JobQueue } from '../../src/async/job-queue';
import { loadConfig } from '../../src/config';
import { mediumDatabase, MediumDatabase } from './support/medium-database';

describe('JobQueue on PostgreSQL (pg-boss, no Nest)', () => {
  let db: MediumDatabase;
  beforeAll(async () => {
    db = await mediumDatabase();
  });
  afterAll(() => db.close());

  it('on stop, a job that finishes within the grace period can still queue what it leads to', async () => {
    const config = loadConfig(
      { DATABASE_URL: db.database.url, ASYNC_POLL_INTERVAL_MS: '500', SHUTDOWN_GRACE_MS: '6000' },
      '/srv',
    );
    const queue = new JobQueue(config, db.pool);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const outcome: { queued?: string; error?: unknown } = {};
    queue.work({ name: 'medium-first', expireInSeconds: 30, retryLimit: 0, retryDelaySeconds: 1 }, async () => {
      started();
      await released;
      // What a finished async fulfillment does: queue the delivery of its callback.
      try {
        outcome.queued = await queue.send('medium-next', { after: 'first' });
      } catch (error: unknown) {
        outcome.error = error;
      }
    });
    queue.work({ name: 'medium-next', expireInSeconds: 30, retryLimit: 0, retryDelaySeconds: 1 }, async () => {
      await Promise.resolve();
    });
    await queue.onApplicationBootstrap();
    try {
      await queue.send('medium-first', {});
      await running;
      const stopping = queue.stop();
      expect(queue.isRunning).toBe(false);
      setTimeout(release, 300);
      await stopping;
      expect(outcome.error).toBeUndefined();
      const [job] = await db.query<{ state: string }>('SELECT state FROM pgboss.job WHERE id = $1', [outcome.queued]);
      expect(job).toMatchObject({ state: 'created' });
      // Once stopped, nothing more is taken.
      await expect(queue.send('medium-next', {})).rejects.toThrow('the job queue is not running');
    } finally {
      await queue.stop();
    }
  });

  it('after its workers stop, a turn still being answered can queue its job, until the queue is closed', async () => {
    const config = loadConfig({ DATABASE_URL: db.database.url, ASYNC_POLL_INTERVAL_MS: '500' }, '/srv');
    const queue = new JobQueue(config, db.pool);
    let ran = 0;
    queue.work({ name: 'medium-late', expireInSeconds: 30, retryLimit: 0, retryDelaySeconds: 1 }, async () => {
      ran += 1;
      await Promise.resolve();
    });
    await queue.onApplicationBootstrap();
    try {
      await queue.stopWorkers();
      expect(queue.isRunning).toBe(false);
      const id = await queue.send('medium-late', {});
      // Queued for another replica to run: this one takes nothing more.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect(ran).toBe(0);
      const [job] = await db.query<{ state: string }>('SELECT state FROM pgboss.job WHERE id = $1', [id]);
      expect(job).toMatchObject({ state: 'created' });
      await queue.stop();
      await expect(queue.send('medium-late', {})).rejects.toThrow('the job queue is not running');
    } finally {
      await queue.stop();
    }
  });
});
