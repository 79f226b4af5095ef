import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { guardedClientClass, type GuardedClient } from '../../src/database/guarded-client';
import { UnconfirmedCommitError } from '../../src/database/unconfirmed-commit';
import { freePort } from '../support/service-process';
import { describeWithStreamingReplication, StreamingPair } from '../support/streaming-replica';

/**
 * A primary whose synchronous standby is away: every commit waits for it. An operator (or a script of the
 * runbook) cancels the waiting sessions; PostgreSQL then answers each commit with a warning and success, though
 * the standby never had it. The service's client fails such a statement instead.
 */
describeWithStreamingReplication()(
  'a commit its synchronous standby did not confirm (real primary and standby)',
  () => {
    let pair: StreamingPair;
    let client: GuardedClient;
    let backend: number;
    const lost: Error[] = [];

    beforeAll(async () => {
      pair = await StreamingPair.start(await freePort(), await freePort());
      await pair.replicateSynchronously();
      await pair.query('primary', 'CREATE TABLE moves (id text PRIMARY KEY)');
      await pair.replica.stop();
      const Guarded = guardedClientClass({ readTimeoutMs: 30_000, onError: (error) => lost.push(error) });
      client = new Guarded({ connectionString: pair.url('primary') });
      await client.connect();
      backend = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    }, 120_000);

    afterAll(async () => {
      await client?.end().catch(() => undefined);
      await pair?.close();
    });

    /** Cancels the session's wait for the standby once it waits (pg_stat_activity's wait event `SyncRep`). */
    async function cancelWhenWaiting(): Promise<void> {
      const admin = new Client({ connectionString: pair.url('primary') });
      await admin.connect();
      try {
        for (let attempt = 0; attempt < 200; attempt += 1) {
          const { rows } = await admin.query<{ cancelled: boolean }>(
            `SELECT pg_cancel_backend(pid) AS cancelled FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'SyncRep'`,
            [backend],
          );
          if (rows.some((row) => row.cancelled)) return;
          await sleep(25);
        }
        throw new Error('the session never waited for the standby');
      } finally {
        await admin.end();
      }
    }

    /** The statement's error, or what it answered: settled at once, so no rejection goes unhandled meanwhile. */
    const outcome = (statement: Promise<unknown>): Promise<unknown> =>
      statement.then(
        (result) => result,
        (error: unknown) => error,
      );

    const committedLocally = async (id: string): Promise<boolean> =>
      (await pair.query<{ n: string }>('primary', 'SELECT count(*) AS n FROM moves WHERE id = $1', [id]))[0]?.n === '1';

    it('a statement in its own transaction fails with UnconfirmedCommitError (it is on the primary only)', async () => {
      const insert = outcome(client.query('INSERT INTO moves (id) VALUES ($1)', ['single']));
      await cancelWhenWaiting();
      expect(await insert).toBeInstanceOf(UnconfirmedCommitError);
      expect(await insert).toMatchObject({
        code: 'COMMIT_NOT_REPLICATED',
        message: expect.stringMatching(/synchronous replication/),
      });
      expect(await committedLocally('single')).toBe(true);
    });

    it('so does the COMMIT of a transaction, and the connection goes on as before', async () => {
      await client.query('BEGIN');
      await client.query('INSERT INTO moves (id) VALUES ($1)', ['in-transaction']);
      const commit = outcome(client.query('COMMIT'));
      await cancelWhenWaiting();
      expect(await commit).toBeInstanceOf(UnconfirmedCommitError);
      // The next statement on the same connection is answered as usual (the notice was its predecessor's).
      await expect(client.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
      expect(lost).toEqual([]);
    });

    it('in pg-pool and TypeORM’s callback form as well', async () => {
      const answered = new Promise<Error | null>((resolve) => {
        (client.query as unknown as (text: string, values: unknown[], done: (error: Error | null) => void) => void)(
          'INSERT INTO moves (id) VALUES ($1)',
          ['callback'],
          (error) => resolve(error),
        );
      });
      await cancelWhenWaiting();
      expect(await answered).toBeInstanceOf(UnconfirmedCommitError);
    });

    it('a statement that commits nothing is not touched by its neighbour’s notice', async () => {
      const insert = outcome(client.query('INSERT INTO moves (id) VALUES ($1)', ['queued-behind']));
      const read = outcome(client.query('SELECT count(*)::int AS n FROM moves'));
      await cancelWhenWaiting();
      expect(await insert).toBeInstanceOf(UnconfirmedCommitError);
      expect(await read).toMatchObject({ rows: [{ n: 4 }] });
    });
  },
);
