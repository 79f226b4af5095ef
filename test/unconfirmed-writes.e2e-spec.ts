import { Module } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DatabaseModule } from '../src/database/database.module';
import { DatabasePool } from '../src/database/database-pool';
import { sql } from '../src/database/sql';
import { FulfillmentHandler, FulfillmentRequest, FulfillmentResult, IntentHandler } from '../src/fulfillment';
import { CommitLosingProxy } from './support/commit-losing-proxy';
import { untilDefined } from './support/eventually';
import { sendGenericTurn } from './support/generic-turns';
import { queryTestDatabase } from './support/test-database';
import { startTestApp, type TestApp } from './support/test-app';

const RECORD = sql<never, [string]>('test_unconfirmed_record', 'INSERT INTO unconfirmed_writes (turn) VALUES ($1)');
const LINGER = sql<{ slept: '' }, []>('test_unconfirmed_linger', 'SELECT pg_sleep(30)::text AS slept');

/** A state-changing handler that writes, then has its connection lost under its next statement. */
@IntentHandler('TestWriteThenLoseConnection', { changesState: true })
class WriteThenLoseConnection implements FulfillmentHandler {
  constructor(private readonly pool: DatabasePool) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    await this.pool.run(RECORD, [request.requestId]);
    await this.pool.run(LINGER, []);
    return { text: 'written' };
  }
}

@Module({ imports: [DatabaseModule], providers: [WriteThenLoseConnection] })
class UnconfirmedWritesModule {}

/**
 * A state-changing turn whose database connection is lost after its write: the write may stand, so the user must
 * not be told "try again in a few minutes" (the platforms do not retry a turn: the user asks anew, a new turn that
 * moves the money a second time). Real PostgreSQL, a backend terminated under a running statement.
 */
describe.each(['reply', '503'])(
  'a state-changing turn that lost PostgreSQL after writing, DEGRADED_MODE=%s (real HTTP, real PostgreSQL)',
  (mode) => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({
        env: { GENERIC_DEADLINE_MS: '4000', DEGRADED_MODE: mode },
        imports: [UnconfirmedWritesModule],
      });
      await queryTestDatabase(t.database.url, 'CREATE TABLE unconfirmed_writes (turn text)');
    });
    afterAll(() => t.close());

    /** Terminates the handler's backend while its second statement runs (after its write committed). */
    const loseConnectionUnderHandler = () =>
      untilDefined(async () => {
        const [row] = await queryTestDatabase<{ pid: number }>(
          t.database.url,
          `SELECT pid FROM pg_stat_activity
          WHERE query = 'SELECT pg_sleep(30)::text AS slept' AND state = 'active' AND datname = current_database()`,
        );
        return row && (await queryTestDatabase(t.database.url, 'SELECT pg_terminate_backend($1)', [row.pid]));
      });

    // With DEGRADED_MODE=503 too: a 503 has the bot say its own "something went wrong", and the user ask anew.
    it('answers UNCONFIRMED_TEXT ("check before you try again"), not DEGRADED_TEXT or 503; the write stands', async () => {
      const requestId = randomUUID();
      const answer = sendGenericTurn(t.baseUrl, {
        requestId,
        sessionId: 'unconfirmed',
        intent: 'TestWriteThenLoseConnection',
      });
      await loseConnectionUnderHandler();
      const response = await answer;
      expect(response.status).toBe(200);
      expect(response.json<{ outcome: string; text: string; failed: boolean }>()).toMatchObject({
        outcome: 'failed',
        failed: true,
        text: "I couldn't confirm whether that went through: our systems stopped answering. Please check before you try it again.",
      });
      // The write stands.
      expect(await queryTestDatabase(t.database.url, 'SELECT turn FROM unconfirmed_writes')).toEqual([
        { turn: requestId },
      ]);
    });

    it('in German while the text is the default', async () => {
      const answer = sendGenericTurn(t.baseUrl, {
        requestId: randomUUID(),
        sessionId: 'unconfirmed-de',
        intent: 'TestWriteThenLoseConnection',
        languageCode: 'de-DE',
      });
      await loseConnectionUnderHandler();
      expect((await answer).json<{ text: string }>().text).toMatch(/^Ich konnte nicht bestätigen, ob das ausgeführt/);
    });
  },
);

/**
 * An async state-changing turn (RequestStatement) whose queueing committed, but whose COMMIT answer was lost: the job
 * runs and files the statement, so the user must not be told "try again" (a new turn, a second statement).
 */
describe('an async state-changing turn whose queueing commit answer was lost (real HTTP, real PostgreSQL, real TCP)', () => {
  let t: TestApp;
  let proxy: CommitLosingProxy;

  beforeAll(async () => {
    proxy = await CommitLosingProxy.start('fulfillments_queue_turn');
    t = await startTestApp({
      env: { GENERIC_DEADLINE_MS: '4000', ASYNC_POLL_INTERVAL_MS: '500' },
      connectVia: (url) => proxy.through(url),
    });
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.close();
  });

  it('answers DEGRADED_TEXT when the connection was lost before the COMMIT: nothing was queued', async () => {
    proxy.cutAt = 'statement';
    proxy.armed = true;
    try {
      const response = await sendGenericTurn(t.baseUrl, {
        requestId: randomUUID(),
        sessionId: `rolled-back-${randomUUID()}`,
        intent: 'RequestStatement',
        parameters: { user_id: '12345', account_type: 'checking' },
      });
      expect(proxy.cut).toBe(1);
      // Before, "I couldn't confirm whether that went through": the transaction had certainly rolled back.
      expect(response.json()).toMatchObject({
        failed: true,
        text: expect.stringMatching(/^Sorry, I can't reach our systems/),
      });
      expect(await queryTestDatabase(t.database.url, 'SELECT count(*)::int AS queued FROM fulfillments')).toEqual([
        { queued: 0 },
      ]);
    } finally {
      proxy.cutAt = 'commit-answer';
      proxy.cut = 0;
    }
  });

  it('answers UNCONFIRMED_TEXT; the fulfillment runs and files one statement', async () => {
    const requestId = randomUUID();
    proxy.armed = true;
    const response = await sendGenericTurn(t.baseUrl, {
      requestId,
      sessionId: `statement-${requestId}`,
      intent: 'RequestStatement',
      parameters: { user_id: '12345', account_type: 'checking' },
    });
    expect(proxy.cut).toBe(1);
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({
      failed: true,
      text: expect.stringMatching(/^I couldn't confirm whether that went through/),
    });
    // What the user was told is what happened: the queued fulfillment ran.
    const completed = await untilDefined(async () => {
      const [row] = await queryTestDatabase<{ status: string }>(
        t.database.url,
        "SELECT status FROM fulfillments WHERE status = 'completed'",
      );
      return row;
    });
    expect(completed).toEqual({ status: 'completed' });
    expect(await queryTestDatabase(t.database.url, 'SELECT count(*)::int AS filed FROM statements')).toEqual([
      { filed: 1 },
    ]);
  });
});
