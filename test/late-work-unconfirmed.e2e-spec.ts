import { Module } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DatabaseModule } from '../src/database/database.module';
import { DatabasePool } from '../src/database/database-pool';
import { sql } from '../src/database/sql';
import { FulfillmentHandler, FulfillmentRequest, FulfillmentResult, IntentHandler } from '../src/fulfillment';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { untilDefined } from './support/eventually';
import { sendGenericTurn } from './support/generic-turns';
import { queryTestDatabase } from './support/test-database';
import { startTestApp, type TestApp } from './support/test-app';

const RECORD = sql<never, [string]>('test_late_record', 'INSERT INTO late_writes (turn) VALUES ($1)');
const WRITER_LINGERS = 'SELECT pg_sleep(30)::text AS writer_slept';
const READER_LINGERS = 'SELECT pg_sleep(30)::text AS reader_slept';
const WRITER_LINGER = sql<{ writer_slept: '' }, []>('test_late_writer_linger', WRITER_LINGERS);
const READER_LINGER = sql<{ reader_slept: '' }, []>('test_late_reader_linger', READER_LINGERS);

const UNCONFIRMED =
  "I couldn't confirm whether that went through: our systems stopped answering. Please check before you try it again.";
const ERROR = 'Sorry, something went wrong on our side. Please try again in a moment.';

/** A state-changing handler that writes, then outlives its turn's deadline and has its connection lost. */
@IntentHandler('TestLateWriteThenLoseConnection', { changesState: true })
class LateWriteThenLoseConnection implements FulfillmentHandler {
  constructor(private readonly pool: DatabasePool) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    await this.pool.run(RECORD, [request.requestId]);
    await this.pool.run(WRITER_LINGER, []);
    return { text: 'written' };
  }
}

/** A read-only handler that outlives its turn's deadline and has its connection lost. */
@IntentHandler('TestLateReadThenLoseConnection')
class LateReadThenLoseConnection implements FulfillmentHandler {
  constructor(private readonly pool: DatabasePool) {}

  async handle(): Promise<FulfillmentResult> {
    await this.pool.run(READER_LINGER, []);
    return { text: 'read' };
  }
}

@Module({ imports: [DatabaseModule], providers: [LateWriteThenLoseConnection, LateReadThenLoseConnection] })
class LateWorkModule {}

/**
 * Late work ("still working" answered, the work going on) that fails after its write may have committed: the result
 * kept for "any news?" must not tell the user to try again (a new turn, the money moved a second time), as the turn
 * answered in time does not. Real HTTP, real PostgreSQL, a backend terminated under the handler's running statement.
 */
describe('late work that lost PostgreSQL after writing (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: { GENERIC_DEADLINE_MS: '300', LATE_WORK_TIMEOUT_MS: '30000', DB_STATEMENT_TIMEOUT_MS: '60000' },
      imports: [LateWorkModule],
    });
    await queryTestDatabase(t.database.url, 'CREATE TABLE late_writes (turn text)');
  });
  afterAll(() => t.close());

  /** Answered "still working"; then the backend running `lingers` is terminated. The late work's kept id. */
  async function lateWorkLosingItsConnection(intent: string, lingers: string, sessionId: string): Promise<string> {
    const response = await sendGenericTurn(t.baseUrl, { requestId: randomUUID(), sessionId, intent });
    const reply = response.json<{ outcome: string; sessionParameters: { pendingFulfillmentId: string } }>();
    expect(reply.outcome).toBe('timed-out');
    await untilDefined(async () => {
      const [row] = await queryTestDatabase<{ pid: number }>(
        t.database.url,
        `SELECT pid FROM pg_stat_activity WHERE query = $1 AND state = 'active' AND datname = current_database()`,
        [lingers],
      );
      return row && (await queryTestDatabase(t.database.url, 'SELECT pg_terminate_backend($1)', [row.pid]));
    });
    return reply.sessionParameters.pendingFulfillmentId;
  }

  /** "Any news?": the PendingFulfillment turn of the same session, once the late work has finished. */
  async function anyNews(id: string, sessionId: string): Promise<{ text: string; failed?: boolean }> {
    await untilDefined(async () => {
      const polled = await fetch(`${t.baseUrl}/v1/fulfillments/${id}`, { headers: LOCAL_DEV_AUTH }).catch(
        () => undefined,
      );
      const json = polled?.ok ? ((await polled.json()) as { status: string }) : undefined;
      return json && json.status !== 'running' ? json : undefined;
    });
    const answer = await sendGenericTurn(t.baseUrl, {
      requestId: randomUUID(),
      sessionId,
      intent: 'PendingFulfillment',
      sessionParameters: { pendingFulfillmentId: id },
    });
    return answer.json<{ text: string; failed?: boolean }>();
  }

  it('a state-changing handler: "any news?" answers UNCONFIRMED_TEXT, not "try again"; the write stands', async () => {
    const id = await lateWorkLosingItsConnection('TestLateWriteThenLoseConnection', WRITER_LINGERS, 'late-writer');
    expect(await anyNews(id, 'late-writer')).toMatchObject({ text: UNCONFIRMED, failed: true });
    expect(await queryTestDatabase(t.database.url, 'SELECT count(*)::int AS n FROM late_writes')).toEqual([{ n: 1 }]);
  });

  it('a read-only handler: the generic error text, as before', async () => {
    const id = await lateWorkLosingItsConnection('TestLateReadThenLoseConnection', READER_LINGERS, 'late-reader');
    expect(await anyNews(id, 'late-reader')).toMatchObject({ text: ERROR, failed: true });
  });
});
