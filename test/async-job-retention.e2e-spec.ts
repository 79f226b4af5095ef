import { randomUUID } from 'node:crypto';
import { FULFILLMENT_QUEUE } from '../src/async/async-fulfillments';
import { eventually } from './support/eventually';
import { queryTestDatabase } from './support/test-database';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * An async job holds the turn's request (its parameters, its raw body). pg-boss kept finished jobs 12 hours and then
 * 7 days in its archive, long past FULFILLMENT_RESULT_TTL_HOURS: they now go when the results do. Real pg-boss
 * maintenance on real PostgreSQL.
 */
describe('finished jobs are kept no longer than results (real pg-boss, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { FULFILLMENT_RESULT_TTL_HOURS: '1', ASYNC_MAINTENANCE_INTERVAL_SECONDS: '1' } });
  });
  afterAll(() => t?.close());

  /** A completed job finished `age` ago, left in the job table or, as pg-boss archives it, moved to the archive. */
  const job = async (table: 'job' | 'archive', age: string) => {
    const id = randomUUID();
    await queryTestDatabase(
      t.database.url,
      `INSERT INTO pgboss.job (id, name, data, state, completed_on)
       VALUES ($1, $2, '{"input":{"raw":"…"}}', 'completed', now() - $3::interval)`,
      [id, FULFILLMENT_QUEUE, age],
    );
    if (table === 'archive') {
      await queryTestDatabase(
        t.database.url,
        `WITH moved AS (DELETE FROM pgboss.job WHERE id = $1 RETURNING *)
         INSERT INTO pgboss.archive SELECT moved.*, now() - $2::interval FROM moved`,
        [id, age],
      );
    }
    return id;
  };
  const where = (id: string) =>
    queryTestDatabase<{ place: string }>(
      t.database.url,
      `SELECT 'job' AS place FROM pgboss.job WHERE id = $1 UNION ALL SELECT 'archive' FROM pgboss.archive WHERE id = $1`,
      [id],
    );

  it('archives a finished job after half the result TTL and deletes it after the whole', async () => {
    const finishedLongAgo = await job('job', '31 minutes');
    const finishedJustNow = await job('job', '1 minute');
    const archivedLongAgo = await job('archive', '31 minutes');
    const archivedJustNow = await job('archive', '1 minute');
    await eventually(async () => {
      expect(await where(archivedLongAgo)).toEqual([]);
      expect(await where(finishedLongAgo)).toEqual([{ place: 'archive' }]);
    }, 15_000);
    expect(await where(finishedJustNow)).toEqual([{ place: 'job' }]);
    expect(await where(archivedJustNow)).toEqual([{ place: 'archive' }]);
  });
});
