import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { untilDefined } from './support/eventually';
import { sendGenericTurn } from './support/generic-turns';
import { queryTestDatabase } from './support/test-database';
import { startTestApp, type TestApp } from './support/test-app';

interface Reply {
  text: string;
  outcome: string;
  sessionParameters?: { pendingFulfillmentId?: string | null };
}

const STILL_WORKING = "I'm still working on that. Please ask me again in a moment.";

/**
 * An async turn (RequestStatement) whose queueing waits on a lock past the turn's deadline is answered "still
 * working" with the id it is being queued under; the queueing then commits and the statement is filed. A
 * follow-up turn asking after that id, on this replica or another, must not be told nothing is in progress (which
 * clears the id) while the work is on its way. Two real replicas, real PostgreSQL, a real table lock.
 */
describe('an async turn whose queueing outlives its deadline (real HTTP, real PostgreSQL)', () => {
  let replica: TestApp;
  let other: TestApp;
  let locker: Client;

  beforeAll(async () => {
    const env = { GENERIC_DEADLINE_MS: '3000', DB_STATEMENT_TIMEOUT_MS: '10000', ASYNC_POLL_INTERVAL_MS: '500' };
    replica = await startTestApp({ env });
    other = await startTestApp({ env, connectVia: () => replica.database.url });
  });
  afterAll(async () => {
    await locker?.end().catch(() => undefined);
    await other?.close();
    await replica?.close();
  });

  const turn = (app: TestApp, sessionId: string, intent: string, parameters: Record<string, unknown>) =>
    sendGenericTurn(app.baseUrl, { requestId: randomUUID(), sessionId, intent, parameters }).then((response) =>
      response.json<Reply>(),
    );

  it('keeps the id on both replicas while the queueing waits, and the statement is filed once', async () => {
    locker = new Client({ connectionString: replica.database.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE fulfillments IN EXCLUSIVE MODE');
    const sessionId = `slow-queueing-${randomUUID()}`;
    const first = await turn(replica, sessionId, 'RequestStatement', { user_id: '12345', account_type: 'checking' });
    expect(first).toMatchObject({ outcome: 'timed-out', text: STILL_WORKING });
    const id = first.sessionParameters?.pendingFulfillmentId;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    // This replica knows the fulfillment is being queued.
    const here = await turn(replica, sessionId, 'PendingFulfillment', { pendingFulfillmentId: id });
    expect(here).toMatchObject({ text: STILL_WORKING, sessionParameters: { pendingFulfillmentId: id } });

    // Another replica waits for the record within its turn's budget (it gave up after a second); the queueing
    // commits meanwhile, later than that.
    const there = turn(other, sessionId, 'PendingFulfillment', { pendingFulfillmentId: id });
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    await locker.query('COMMIT');
    expect((await there).text).not.toMatch(/anything in progress/);

    const filed = await untilDefined(async () => {
      const [row] = await queryTestDatabase<{ status: string }>(
        replica.database.url,
        "SELECT status FROM fulfillments WHERE id = $1 AND status = 'completed'",
        [id],
      );
      return row;
    });
    expect(filed).toEqual({ status: 'completed' });
    expect(await queryTestDatabase(replica.database.url, 'SELECT count(*)::int AS filed FROM statements')).toEqual([
      { filed: 1 },
    ]);
  });

  it("uses a confirmation answer up in the acknowledgement, as the handler's own reply would", async () => {
    const response = await sendGenericTurn(replica.baseUrl, {
      requestId: randomUUID(),
      sessionId: `confirmed-${randomUUID()}`,
      intent: 'RequestStatement',
      parameters: { user_id: '12345', account_type: 'checking', confirmation: 'yes' },
      sessionParameters: { confirming: 'a-question-on-record' },
    });
    // A bot that keeps the answer (a Rasa slot) would otherwise carry the "yes" to the next action.
    expect(response.json<Reply>().sessionParameters).toEqual({
      pendingFulfillmentId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      confirmation: null,
    });
  });
});
