import * as pg from 'pg';
import { ReplicaClient } from '../../src/database/replicas/read-replicas';
import { eventually } from '../support/eventually';
import { mediumDatabase, MediumDatabase } from './support/medium-database';

/** A read replica's connections on a real PostgreSQL (the primary stands in: the client is what is tested). */
describe('ReplicaClient (no Nest)', () => {
  let db: MediumDatabase;
  beforeAll(async () => {
    db = await mediumDatabase();
  });
  afterAll(() => db.close());

  it('a connection lost while a read holds it fails that read, and nothing else (the process goes on)', async () => {
    const pool = new pg.Pool({ Client: ReplicaClient, connectionString: db.database.url, max: 1 });
    pool.on('error', () => undefined);
    // Checked out, as a read with an abort signal holds its client: pg-pool does not listen to it meanwhile.
    const client = await pool.connect();
    try {
      const pid = (client as unknown as { processID: number }).processID;
      const reading = client.query('SELECT pg_sleep(30)');
      await eventually(async () =>
        expect(
          await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = $2', [pid, 'active']),
        ).toHaveLength(1),
      );
      // The replica restarting: its backend ends with a FATAL message, then the connection closes.
      await db.query('SELECT pg_terminate_backend($1)', [pid]);
      await expect(reading).rejects.toMatchObject({ code: '57P01' });
      // The close comes after the message: it must not be an unhandled 'error' event.
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      client.release(true);
      await pool.end();
    }
  });
});
