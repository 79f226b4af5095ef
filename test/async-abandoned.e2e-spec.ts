import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FULFILLMENT_JOB_CONCURRENCY } from '../src/async/async-fulfillments';
import { Retention } from '../src/async/retention';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { eventually } from './support/eventually';
import { sendRaw } from './support/raw-http';
import { startTestApp, type TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

/**
 * The retention job records as failed an async turn that can no longer finish, and no other. A turn whose job
 * waited in a backlog past its limit is given up by the queue (the job's retention) and then recorded as failed: its
 * handler never runs, for its effect (a statement filed with the archive) would sit behind a result, a poll and a
 * callback that all say it failed. A turn whose job is running, however long since it was acknowledged, is left
 * to finish: before, it was recorded as failed under its running handler, whose statement was filed all the same.
 */
describe('abandoned async work: only what can no longer run is recorded as failed (real app, real pg-boss, a real archive server)', () => {
  let t: TestApp;
  let archive: Server;
  const filed: string[] = [];
  let releaseHeld: (() => void) | undefined;

  beforeAll(async () => {
    const held = new Promise<void>((resolve) => (releaseHeld = resolve));
    archive = createServer((request: IncomingMessage, response: ServerResponse) => {
      const key = String(request.headers['idempotency-key']);
      request.resume();
      request.on('end', () => {
        filed.push(key);
        const answer = () =>
          response
            .writeHead(201, { 'content-type': 'application/json' })
            .end(JSON.stringify({ reference: `AR-${filed.length}` }));
        // The first statements keep every lane of the job worker busy, so the next turn's job waits in the queue.
        if (filed.length <= FULFILLMENT_JOB_CONCURRENCY) void held.then(answer);
        else answer();
      });
    });
    await new Promise<void>((resolve) => archive.listen(0, '127.0.0.1', resolve));
    t = await startTestApp({
      env: {
        STATEMENT_ARCHIVE_URL: `http://127.0.0.1:${(archive.address() as AddressInfo).port}`,
        ASYNC_POLL_INTERVAL_MS: '500',
        ASYNC_MAINTENANCE_INTERVAL_SECONDS: '1',
      },
    });
  });

  afterAll(async () => {
    releaseHeld?.();
    await t?.close();
    archive.closeAllConnections();
    await new Promise((resolve) => archive.close(resolve));
  });

  async function requestStatement(): Promise<string> {
    const response = await sendRaw(t.baseUrl, '/v1/webhooks/generic', {
      headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        requestId: randomUUID(),
        sessionId: `abandoned-${randomUUID()}`,
        intent: 'RequestStatement',
        parameters: { user_id: '12345', account_type: 'checking' },
      }),
    });
    expect(response.status).toBe(200);
    return response.json<{ sessionParameters: { pendingFulfillmentId: string } }>().sessionParameters
      .pendingFulfillmentId;
  }

  const fulfillment = async (id: string) =>
    (
      await queryTestDatabase<{ status: string }>(t.database.url, 'SELECT status FROM fulfillments WHERE id = $1', [id])
    )[0];
  /** The job's state, `archived` when pg-boss has moved it to its archive. */
  const jobState = async (id: string) =>
    (
      await queryTestDatabase<{ state: string }>(
        t.database.url,
        `SELECT state::text FROM pgboss.job WHERE name = 'async-fulfillment' AND id = $1
         UNION ALL SELECT 'archived ' || state FROM pgboss.archive WHERE name = 'async-fulfillment' AND id = $1`,
        [id],
      )
    ).map((row) => row.state);

  it('fails a turn whose job the queue gave up on, never runs it, and lets a late-started job finish', async () => {
    const started: string[] = [];
    for (let lane = 0; lane < FULFILLMENT_JOB_CONCURRENCY; lane++) started.push(await requestStatement());
    await eventually(() => expect(filed).toHaveLength(FULFILLMENT_JOB_CONCURRENCY));
    const waiting = await requestStatement();
    for (const id of started) expect(await jobState(id)).toEqual(['active']);
    expect(await jobState(waiting)).toEqual(['created']);
    // The queue keeps a job that has not started for as long as an async turn may take (attempts and a wait).
    const [{ seconds }] = await queryTestDatabase<{ seconds: number }>(
      t.database.url,
      `SELECT extract(epoch FROM keep_until - created_on)::int AS seconds FROM pgboss.job WHERE id = $1`,
      [waiting],
    );
    expect(seconds).toBe(60 * 4 + 600); // ASYNC_JOB_TIMEOUT_MS × (ASYNC_JOB_RETRIES + 1) + 10 minutes

    // All acknowledged a day ago, as if they had waited in a backlog: the ones started late are running, the other
    // may still start. None is abandoned.
    await queryTestDatabase(
      t.database.url,
      `UPDATE fulfillments SET created_at = now() - interval '1 day' WHERE id = ANY($1)`,
      [[...started, waiting]],
    );
    const retention = t.app.get(Retention);
    expect(await retention.failAbandoned()).toEqual([]);

    // The waiting job's retention runs out: pg-boss's maintenance archives it unstarted, and it is abandoned.
    await queryTestDatabase(
      t.database.url,
      `UPDATE pgboss.job SET keep_until = now() - interval '1 second' WHERE name = 'async-fulfillment' AND id = $1`,
      [waiting],
    );
    await eventually(async () => expect(await jobState(waiting)).toEqual(['archived created']), 15_000);
    expect(await retention.failAbandoned()).toEqual([waiting]);
    expect(await fulfillment(waiting)).toEqual({ status: 'failed' });
    // Asked after in German, the failure is said in German (the retention job knows no turn's language).
    const [{ session_id: sessionId }] = await queryTestDatabase<{ session_id: string }>(
      t.database.url,
      'SELECT session_id FROM fulfillments WHERE id = $1',
      [waiting],
    );
    const askedAfter = await sendRaw(t.baseUrl, '/v1/webhooks/generic', {
      headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        requestId: randomUUID(),
        sessionId,
        intent: 'PendingFulfillment',
        languageCode: 'de-DE',
        parameters: { pendingFulfillmentId: waiting },
      }),
    });
    expect(askedAfter.json<{ text: string }>().text).toBe(
      'Entschuldigung, bei uns ist etwas schiefgelaufen. Bitte versuchen Sie es gleich noch einmal.',
    );

    releaseHeld?.();
    for (const id of started) {
      await eventually(async () => expect(await fulfillment(id)).toEqual({ status: 'completed' }), 15_000);
    }
    // The late-started turns completed with their statements; the abandoned one's handler never ran.
    expect(await fulfillment(waiting)).toEqual({ status: 'failed' });
    expect(filed).toHaveLength(FULFILLMENT_JOB_CONCURRENCY);
    const statements = await queryTestDatabase<{ count: string }>(t.database.url, 'SELECT count(*) FROM statements');
    expect(statements).toEqual([{ count: String(FULFILLMENT_JOB_CONCURRENCY) }]);
  });
});
