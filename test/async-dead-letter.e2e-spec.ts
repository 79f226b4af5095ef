import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { FAILED_DELIVERY_QUEUE } from '../src/async/callback-deliveries';
import { untilDefined } from './support/eventually';
import { queryTestDatabase } from './support/test-database';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * A callback delivery whose job failed inside the service every time is given up (dead, replayable) by a job of the
 * dead-letter queue. pg-boss makes that job with none of the queue's settings (no retry delay): when giving up met
 * the same database trouble, its retries all ran at once and the delivery stayed pending, with no job, for ever.
 * Real pg-boss, real PostgreSQL, a real row lock.
 */
describe('giving a failed callback delivery up (real pg-boss, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { DB_STATEMENT_TIMEOUT_MS: '500', ASYNC_POLL_INTERVAL_MS: '500' } });
  });
  afterAll(() => t?.close());

  it('puts giving up off while the delivery cannot be written, and gives it up once it can', async () => {
    const id = `msg_${randomUUID().replaceAll('-', '')}`;
    await queryTestDatabase(
      t.database.url,
      `INSERT INTO callback_deliveries (id, fulfillment_id, caller_id, url, payload, status, attempts)
       VALUES ($1, $2, 'some-caller', 'https://receiver.example/hook', '{}', 'pending', 2)`,
      [id, randomUUID()],
    );
    const holder = new Client({ connectionString: t.database.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM callback_deliveries WHERE id = $1 FOR UPDATE', [id]);
      // The dead-letter copy as pg-boss writes it (plans.js): name, data, output, retry limit, and defaults.
      await queryTestDatabase(
        t.database.url,
        `INSERT INTO pgboss.job (name, data, output, retry_limit, keep_until)
         VALUES ($1, $2, '{"message":"the database refused the write"}', 5, now() + interval '14 days')`,
        [FAILED_DELIVERY_QUEUE, { deliveryId: id, attempt: 2 }],
      );
      const putOff = await untilDefined(async () => {
        const [job] = await queryTestDatabase<{ retry_delay: number; later: boolean }>(
          t.database.url,
          `SELECT retry_delay, start_after > now() AS later FROM pgboss.job
            WHERE name = $1 AND data->>'deliveryId' = $2 AND (data->>'postponed')::int = 1`,
          [FAILED_DELIVERY_QUEUE, id],
        );
        return job;
      }, 15_000);
      expect(putOff).toEqual({ retry_delay: 5, later: true });
      // Held a while longer: pg-boss's own retries of the copy would all have run and failed by now.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
    const dead = await untilDefined(async () => {
      const [row] = await queryTestDatabase<{ status: string; last_error: string }>(
        t.database.url,
        "SELECT status, last_error FROM callback_deliveries WHERE id = $1 AND status = 'dead'",
        [id],
      );
      return row;
    }, 20_000);
    expect(dead.last_error).toBe(
      'the service could not finish an attempt (6 tries; the last: the database refused the write)',
    );
  }, 40_000);

  it('leaves a delivery alone when the copy is stale (its attempt number is not the delivery’s)', async () => {
    const id = `msg_${randomUUID().replaceAll('-', '')}`;
    await queryTestDatabase(
      t.database.url,
      `INSERT INTO callback_deliveries (id, fulfillment_id, caller_id, url, payload, status, attempts)
       VALUES ($1, $2, 'some-caller', 'https://receiver.example/hook', '{}', 'pending', 3)`,
      [id, randomUUID()],
    );
    await queryTestDatabase(
      t.database.url,
      `INSERT INTO pgboss.job (name, data, output, retry_limit, keep_until)
       VALUES ($1, $2, '{"message":"stale"}', 5, now() + interval '14 days')`,
      [FAILED_DELIVERY_QUEUE, { deliveryId: id, attempt: 1 }],
    );
    await untilDefined(async () => {
      const [job] = await queryTestDatabase<{ state: string }>(
        t.database.url,
        `SELECT state FROM pgboss.job WHERE name = $1 AND data->>'deliveryId' = $2 AND state = 'completed'`,
        [FAILED_DELIVERY_QUEUE, id],
      );
      return job;
    }, 15_000);
    expect(
      await queryTestDatabase(t.database.url, 'SELECT status FROM callback_deliveries WHERE id = $1', [id]),
    ).toEqual([{ status: 'pending' }]);
  });
});
