/**
 * A "yes" answered "still working": the work goes on after the reply and may be done by the time the user, as told,
 * asks again. The same transfer asked again is the same question, so its "yes" finds the money moved instead of
 * moving it a second time (it moved twice: the second prompt was a new question with a key of its own).
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import transferFunds from './fixtures/generic/intents/TransferFunds.json';
import { eventually } from './support/eventually';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { startTestApp, type TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

const PATH = '/v1/webhooks/generic';
const QUESTION = 'Transfer $250.00 from your checking account to your savings account?';
const STILL_WORKING = "I'm still working on that. Please ask me again in a moment.";

describe('a confirmed transfer answered "still working", then asked for again', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { GENERIC_DEADLINE_MS: '1000' } });
  });
  afterAll(() => t?.close());

  const post = async (body: object): Promise<Record<string, unknown>> =>
    (await request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).send(body).expect(200)).body as Record<string, unknown>;

  const turn = (extra: object) => ({ ...structuredClone(transferFunds), requestId: randomUUID(), ...extra });

  async function balances(): Promise<Record<string, bigint>> {
    const rows = await queryTestDatabase<{ account_type: string; balance_minor: string }>(
      t.database.url,
      `SELECT a.account_type, a.balance_minor FROM accounts a JOIN customers c ON c.id = a.customer_id
        WHERE c.customer_number = '12345'`,
    );
    return Object.fromEntries(rows.map((row) => [row.account_type, BigInt(row.balance_minor)]));
  }

  it('is the same question: its "yes" finds the transfer the late work did, and moves nothing more', async () => {
    const before = await balances();
    const moved = { checking: before.checking - 25000n, savings: before.savings + 25000n };
    const ask = await post(turn({}));
    expect(ask).toMatchObject({ text: QUESTION, confirm: true });

    // The account is locked past the platform's deadline: the "yes" is answered "still working".
    const holder = new Client({ connectionString: t.database.url });
    await holder.connect();
    let interim: Record<string, unknown>;
    try {
      await holder.query('BEGIN');
      await holder.query(
        `SELECT 1 FROM accounts a JOIN customers c ON c.id = a.customer_id
          WHERE c.customer_number = '12345' FOR UPDATE OF a`,
      );
      interim = await post(turn({ confirmation: 'confirmed', sessionParameters: ask.sessionParameters }));
      expect(interim).toMatchObject({ outcome: 'timed-out', text: STILL_WORKING });
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    // The work went on after the reply and moved the money.
    await eventually(async () => expect(await balances()).toEqual(moved), 10_000);

    // Asked again, as the reply said: the question on record is asked again, and its "yes" is done already.
    const sessionParameters = { ...(ask.sessionParameters as object), ...(interim.sessionParameters as object) };
    const askAgain = await post(turn({ sessionParameters }));
    expect(askAgain).toMatchObject({ text: QUESTION, confirm: true });
    expect((askAgain.sessionParameters as Record<string, unknown>).confirming).toBe(
      (ask.sessionParameters as Record<string, unknown>).confirming,
    );
    const done = await post(turn({ confirmation: 'confirmed', sessionParameters: askAgain.sessionParameters }));
    expect(done).toMatchObject({
      outcome: 'fulfilled',
      // Said as done before, not as a new transfer: the user may have meant another one (asked again as told).
      text: expect.stringMatching(
        /^That transfer was already made: \$250\.00 from your checking account to your savings account; nothing more was moved\./,
      ),
      sessionParameters: { confirmation: null, confirming: 'answered' },
    });
    expect(await balances()).toEqual(moved);

    // Once answered, the same transfer asked for again is a new one.
    const third = await post(turn({ sessionParameters: done.sessionParameters }));
    await post(turn({ confirmation: 'confirmed', sessionParameters: third.sessionParameters }));
    expect(await balances()).toEqual({ checking: before.checking - 50000n, savings: before.savings + 50000n });
  }, 30_000);
});
