import request from 'supertest';
import { esRequest, LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

const PATH = '/v1/webhooks/dialogflow-es';

interface Balances {
  checking: bigint;
  savings: bigint;
  transactions: number;
}

describe('TransferFunds (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { DB_POOL_SIZE: '10' } });
  });
  afterAll(() => t.close());

  const transfer = (parameters: Record<string, unknown>) =>
    request(t.baseUrl)
      .post(PATH)
      .set(LOCAL_DEV_AUTH)
      .send(esRequest('TransferFunds', { user_id: '12345', ...parameters }))
      .expect(200);

  async function balances(): Promise<Balances> {
    const rows = await queryTestDatabase<{ account_type: string; balance_minor: string; tx: string }>(
      t.database.url,
      `SELECT a.account_type, a.balance_minor, (SELECT count(*) FROM transactions x WHERE x.account_id = a.id) AS tx
         FROM accounts a JOIN customers c ON c.id = a.customer_id WHERE c.customer_number = '12345'`,
    );
    const of = (type: string) => rows.find((row) => row.account_type === type);
    return {
      checking: BigInt(of('checking')?.balance_minor ?? '0'),
      savings: BigInt(of('savings')?.balance_minor ?? '0'),
      transactions: rows.reduce((sum, row) => sum + Number(row.tx), 0),
    };
  }

  it('asks for each missing parameter, then for confirmation, then moves the money', async () => {
    expect((await transfer({})).body.fulfillmentText).toBe('Which account should the money come from?');
    expect((await transfer({ from_account: 'checking' })).body.fulfillmentText).toBe(
      'Which account should the money go to?',
    );
    expect((await transfer({ from_account: 'checking', to_account: 'savings' })).body.fulfillmentText).toBe(
      'How much would you like to transfer?',
    );
    const before = await balances();
    const ask = await transfer({ from_account: 'checking', to_account: 'savings', amount: 100.5 });
    expect(ask.body.fulfillmentText).toBe('Transfer $100.50 from your checking account to your savings account?');
    expect(ask.body.fulfillmentMessages[1]).toEqual({ quickReplies: { quickReplies: ['Yes', 'No'] } });
    expect(await balances()).toEqual(before);
    // Asked in German, the answers offered are German too (the agent's NLU reads a chip as typed).
    const german = esRequest('TransferFunds', {
      user_id: '12345',
      from_account: 'checking',
      to_account: 'savings',
      amount: 100.5,
    }) as { queryResult: { languageCode: string } };
    german.queryResult.languageCode = 'de';
    const gefragt = await request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).send(german).expect(200);
    expect(gefragt.body.fulfillmentMessages[1]).toEqual({ quickReplies: { quickReplies: ['Ja', 'Nein'] } });

    const done = await transfer({
      from_account: 'checking',
      to_account: 'savings',
      amount: 100.5,
      confirmation: 'yes',
    });
    expect(done.body.fulfillmentText).toBe(
      'Done: I moved $100.50 from your checking account to your savings account. Your checking balance is now $3,147.32.',
    );
    expect(await balances()).toEqual({
      checking: before.checking - 10050n,
      savings: before.savings + 10050n,
      transactions: before.transactions + 2,
    });
  });

  it('writes nothing when the user says no', async () => {
    const before = await balances();
    const response = await transfer({ from_account: 'savings', to_account: 'checking', amount: 5, confirmation: 'no' });
    expect(response.body.fulfillmentText).toBe("OK, I won't make that transfer.");
    expect(await balances()).toEqual(before);
  });

  it('says a transfer went through when the session values its reply would write take it over Dialogflow’s 64 KiB', async () => {
    const session = 'projects/project-id/agent/sessions/session-id';
    // The bot's own session values, near Dialogflow's limit: the transfer's changes to them cannot be sent.
    const carried = esRequest('TransferFunds', {
      user_id: '12345',
      from_account: 'checking',
      to_account: 'savings',
      amount: 7,
      confirmation: 'yes',
    }) as { queryResult: Record<string, unknown> };
    carried.queryResult.outputContexts = [
      {
        name: `${session}/contexts/session-parameters`,
        lifespanCount: 40,
        parameters: {
          'webhook-session': Object.fromEntries([...'abcdefghijklmnopq'].map((k) => [k, k.repeat(4_000)])),
        },
      },
    ];
    const before = await balances();
    const response = await request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).send(carried).expect(200);
    expect(response.body.fulfillmentText).toMatch(
      /^Done: I moved \$7\.00 from your checking account to your savings account\. Your checking balance is now /,
    );
    // The session values stay as ES holds them (not renewed: with them the reply would be over the limit too).
    expect(Buffer.byteLength(response.text)).toBeLessThanOrEqual(64 * 1024);
    expect(await balances()).toEqual({
      checking: before.checking - 700n,
      savings: before.savings + 700n,
      transactions: before.transactions + 2,
    });
  });

  it('refuses a transfer that would overdraw, writing nothing', async () => {
    const before = await balances();
    const response = await transfer({
      from_account: 'checking',
      to_account: 'savings',
      amount: '1000000',
      confirmation: 'yes',
    });
    expect(response.body.fulfillmentText).toMatch(/^Your checking account has \$[\d,.]+, which is not enough/);
    expect(await balances()).toEqual(before);
  });

  it('refuses a request id reused for another transfer once its idempotency record expired, moving nothing', async () => {
    const generic = (amount: number, from: string, to: string) =>
      request(t.baseUrl)
        .post('/v1/webhooks/generic')
        .set(LOCAL_DEV_AUTH)
        .send({
          requestId: 'transfer-reused-id',
          sessionId: 'transfer-reused-session',
          intent: 'TransferFunds',
          stage: 'fulfillment',
          confirmation: 'confirmed',
          parameters: { user_id: '12345', from_account: from, to_account: to, amount },
        })
        .expect(200);
    expect((await generic(1, 'checking', 'savings')).body.text).toMatch(/^Done: I moved \$1\.00 /);
    const before = await balances();
    // The record that refuses another body under the same id (422) is gone, as after IDEMPOTENCY_TTL_HOURS.
    await queryTestDatabase(t.database.url, `UPDATE idempotency_records SET expires_at = now() - interval '1 second'`);
    const reused = await generic(500, 'savings', 'checking');
    // Before: "Done: I moved $500.00 from your savings account…", and nothing had moved.
    expect(reused.body).toMatchObject({
      text: 'That request was already used for a different transfer, so I did not make this one. Please ask me again.',
    });
    expect(await balances()).toEqual(before);
  });

  it('re-asks for an invalid amount and for the same account twice', async () => {
    expect(
      (await transfer({ from_account: 'checking', to_account: 'savings', amount: '12.345' })).body.fulfillmentText,
    ).toBe('How much would you like to transfer?');
    expect((await transfer({ from_account: 'checking', to_account: 'checking' })).body.fulfillmentText).toBe(
      'The money has to go to another account. Which one?',
    );
  });

  it('never lets 20 concurrent transfers take an account below zero, and conserves the total', async () => {
    const before = await balances();
    const amountMinor = 20_000n; // $200.00
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        transfer({ from_account: 'checking', to_account: 'savings', amount: 200, confirmation: 'yes' }),
      ),
    );
    const succeeded = responses.filter((r) => String(r.body.fulfillmentText).startsWith('Done:')).length;
    const expected = Number(before.checking / amountMinor);
    const after = await balances();
    expect(succeeded).toBe(Math.min(20, expected));
    expect(after.checking).toBe(before.checking - BigInt(succeeded) * amountMinor);
    expect(after.checking >= 0n).toBe(true);
    expect(after.checking + after.savings).toBe(before.checking + before.savings);
    expect(after.transactions).toBe(before.transactions + 2 * succeeded);
  });
});
