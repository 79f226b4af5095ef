import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Retention } from '../src/async/retention';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { eventually } from './support/eventually';
import { sendRaw } from './support/raw-http';
import { startTestApp, type TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

/**
 * An async turn whose job waited in a backlog past the retention job's limit is recorded as failed; when its job
 * runs at last, the handler must not run: its effect (a statement filed with the archive) would sit behind a
 * result, a poll and a callback that all say it failed.
 */
describe('async work recorded as failed before its job ran (real app, real pg-boss, a real archive server)', () => {
  let t: TestApp;
  let archive: Server;
  const filed: string[] = [];
  let holdFirst: (() => void) | undefined;

  beforeAll(async () => {
    const held = new Promise<void>((resolve) => (holdFirst = resolve));
    archive = createServer((request: IncomingMessage, response: ServerResponse) => {
      const key = String(request.headers['idempotency-key']);
      request.resume();
      request.on('end', () => {
        filed.push(key);
        const answer = () =>
          response
            .writeHead(201, { 'content-type': 'application/json' })
            .end(JSON.stringify({ reference: `AR-${filed.length}` }));
        // The first statement keeps the one job worker busy, so the next turn's job waits in the queue.
        if (filed.length === 1) void held.then(answer);
        else answer();
      });
    });
    await new Promise<void>((resolve) => archive.listen(0, '127.0.0.1', resolve));
    t = await startTestApp({
      env: {
        STATEMENT_ARCHIVE_URL: `http://127.0.0.1:${(archive.address() as AddressInfo).port}`,
        ASYNC_POLL_INTERVAL_MS: '500',
      },
    });
  });

  afterAll(async () => {
    holdFirst?.();
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
  const jobStates = async (id: string) =>
    (
      await queryTestDatabase<{ state: string }>(
        t.database.url,
        `SELECT state FROM pgboss.job WHERE name = 'async-fulfillment' AND data->>'fulfillmentId' = $1`,
        [id],
      )
    ).map((row) => row.state);

  it('does not run the handler of a fulfillment recorded as failed while its job waited', async () => {
    const first = await requestStatement();
    await eventually(() => expect(filed).toHaveLength(1));
    const waiting = await requestStatement();
    expect(await jobStates(waiting)).toEqual(['created']);

    // As if it had waited past every limit of an async job (ASYNC_JOB_TIMEOUT_MS × attempts + 10 minutes).
    await queryTestDatabase(
      t.database.url,
      `UPDATE fulfillments SET created_at = now() - interval '1 day' WHERE id = $1`,
      [waiting],
    );
    expect(await t.app.get(Retention).failAbandoned()).toEqual([waiting]);

    holdFirst?.();
    await eventually(async () => {
      expect(await fulfillment(first)).toEqual({ status: 'completed' });
      expect(await jobStates(waiting)).toEqual(['completed']);
    }, 15_000);
    expect(await fulfillment(waiting)).toEqual({ status: 'failed' });
    // Only the first turn's statement was filed and recorded.
    expect(filed).toHaveLength(1);
    const statements = await queryTestDatabase<{ count: string }>(t.database.url, 'SELECT count(*) FROM statements');
    expect(statements).toEqual([{ count: '1' }]);
  });
});
