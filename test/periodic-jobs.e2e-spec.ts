import { setTimeout as sleep } from 'node:timers/promises';
import PgBoss from 'pg-boss';
import { jobQueueOptions } from '../src/async/job-queue';
import { eventually } from './support/eventually';
import { freePort, killService, type ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, queryTestDatabase, type TestDatabase } from './support/test-database';

/**
 * The retention job runs once every ten minutes across all replicas. It used to be a pg-boss cron schedule, whose
 * scheduler runs on a pg-boss worker that records a job's end without awaiting it (PostgreSQL going away just then
 * ended the process); each replica now offers the job and pg-boss keeps one per period.
 */
describe('periodic jobs (two real replicas on one database)', () => {
  let database: TestDatabase;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    // What an earlier release left: retention on pg-boss's cron.
    const boss = new PgBoss({ ...jobQueueOptions(database.url, 1), supervise: false, schedule: false });
    boss.on('error', () => undefined);
    await boss.start();
    await boss.createQueue('retention');
    await boss.schedule('retention', '*/10 * * * *');
    await boss.stop({ graceful: false, close: true });
  });

  afterAll(async () => {
    await Promise.all(services.map((service) => killService(service)));
    await database.drop();
  });

  it('queue one retention job per period between them, which one of them runs; no cron schedule is left', async () => {
    for (let index = 0; index < 2; index += 1) {
      services.push(startService({ DATABASE_URL: database.url, PORT: String(await freePort()) }));
    }
    await Promise.all(services.map((service) => service.waitFor(/Listening on/)));

    const retentionJobs = () =>
      queryTestDatabase<{ state: string }>(database.url, "SELECT state FROM pgboss.job WHERE name = 'retention'");
    await eventually(async () => expect(await retentionJobs()).toEqual([{ state: 'completed' }]), 20_000);
    await sleep(1000);
    expect(await retentionJobs()).toEqual([{ state: 'completed' }]);
    expect(await queryTestDatabase(database.url, 'SELECT name FROM pgboss.schedule')).toEqual([]);
  }, 60_000);
});
