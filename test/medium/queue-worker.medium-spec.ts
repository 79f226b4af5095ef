import { Logger } from '@nestjs/common';
import PgBoss from 'pg-boss';
import { jobQueueOptions } from '../../src/async/job-queue';
import { QueueWorker } from '../../src/async/queue-worker';
import { eventually } from '../support/eventually';
import { createTestDatabase, queryTestDatabase, type TestDatabase } from '../support/test-database';

const QUEUE = 'queue-worker-test';

interface Work {
  readonly outcome: 'complete' | 'throw' | 'hang';
}

describe('QueueWorker on a real pg-boss queue', () => {
  let database: TestDatabase;
  let boss: PgBoss;
  const ran: string[] = [];
  const hanging: (() => void)[] = [];
  let worker: QueueWorker<Work>;

  const jobState = async (id: string) =>
    (
      await queryTestDatabase<{ state: string; output: { message?: string } | null; retry_count: number }>(
        database.url,
        'SELECT state, output, retry_count FROM pgboss.job WHERE id = $1',
        [id],
      )
    )[0];

  beforeAll(async () => {
    database = await createTestDatabase();
    boss = new PgBoss({ ...jobQueueOptions(database.url, 2), supervise: false, schedule: false });
    boss.on('error', () => undefined);
    await boss.start();
    await boss.createQueue(QUEUE, { name: QUEUE, retryLimit: 1, retryDelay: 60, expireInSeconds: 30 });
  });

  beforeEach(() => {
    worker = new QueueWorker<Work>(
      boss,
      { queue: QUEUE, expireInSeconds: 30, pollIntervalMs: 100 },
      async (job) => {
        ran.push(job.id);
        if (job.data.outcome === 'throw') throw new Error('the handler failed');
        if (job.data.outcome === 'hang') await new Promise<void>((resolve) => hanging.push(resolve));
      },
      new Logger('QueueWorkerTest'),
    );
  });

  afterEach(() => {
    hanging.splice(0).forEach((release) => release());
  });

  afterAll(async () => {
    await boss.stop({ graceful: false, close: true });
    await database.drop();
  });

  it('runs each job once and records how it ended: completed, or failed with its message (to be retried)', async () => {
    const done = (await boss.send(QUEUE, { outcome: 'complete' }))!;
    const failed = (await boss.send(QUEUE, { outcome: 'throw' }))!;
    worker.start();
    await eventually(async () => {
      expect((await jobState(done)).state).toBe('completed');
      expect(await jobState(failed)).toMatchObject({ state: 'retry', output: { message: 'the handler failed' } });
    });
    await worker.stop(1000);
    expect(ran.filter((id) => id === done || id === failed).sort()).toEqual([done, failed].sort());
  });

  it('on stop, takes no new job and fails a job still running after the grace period back to the queue', async () => {
    const running = (await boss.send(QUEUE, { outcome: 'hang' }))!;
    worker.start();
    await eventually(() => expect(ran).toContain(running));
    const waiting = (await boss.send(QUEUE, { outcome: 'complete' }))!;

    const started = Date.now();
    await worker.stop(300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(await jobState(running)).toMatchObject({
      state: 'retry',
      output: { message: 'the replica shut down while the job ran' },
    });
    expect((await jobState(waiting)).state).toBe('created');
    expect(ran).not.toContain(waiting);
  });

  it('with lanes, a job that never ends holds one lane: the others go on, and stop fails every running one back', async () => {
    const lanes = new QueueWorker<Work>(
      boss,
      { queue: QUEUE, expireInSeconds: 30, pollIntervalMs: 100, concurrency: 3 },
      async (job) => {
        ran.push(job.id);
        if (job.data.outcome === 'hang') await new Promise<void>((resolve) => hanging.push(resolve));
      },
      new Logger('QueueWorkerTest'),
    );
    const stuck = [(await boss.send(QUEUE, { outcome: 'hang' }))!, (await boss.send(QUEUE, { outcome: 'hang' }))!];
    lanes.start();
    await eventually(() => expect(ran).toEqual(expect.arrayContaining(stuck)));
    const others = await Promise.all([1, 2, 3].map(() => boss.send(QUEUE, { outcome: 'complete' })));
    await eventually(async () => {
      for (const id of others) expect((await jobState(id!)).state).toBe('completed');
    });
    await lanes.stop(200);
    for (const id of stuck) {
      expect(await jobState(id)).toMatchObject({
        state: 'retry',
        output: { message: 'the replica shut down while the job ran' },
      });
    }
  });

  it('on stop, lets a running job finish within the grace period and records it', async () => {
    const running = (await boss.send(QUEUE, { outcome: 'hang' }))!;
    worker.start();
    await eventually(() => expect(ran).toContain(running));
    const stopping = worker.stop(5000);
    setTimeout(() => hanging.splice(0).forEach((release) => release()), 100);
    await stopping;
    expect((await jobState(running)).state).toBe('completed');
  });
});
