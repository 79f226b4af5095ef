import { Client } from 'pg';
import { accountBalances, sendGenericTurn, transferCounts, transferTurnBody } from './support/generic-turns';
import { freePort, killService, type ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, queryTestDatabase, type TestDatabase } from './support/test-database';

/**
 * A reachable PostgreSQL that refuses a turn's statement for a passing reason: a row or table lock held by other
 * work past `statement_timeout` (a batch job, an operator's maintenance), or a server out of disk space. Before,
 * the turn's key claim meeting one of them ended in 500 INTERNAL with a stack trace, and a handler meeting one
 * in the generic failure text. Now the turn gets the busy or degraded reply, nothing of it is kept, and the
 * bot's retry moves the money exactly once when the cause is gone. A real service process on a real database:
 * the locks are real locks taken by the test's own session, and the statement timeouts PostgreSQL's own; a full
 * disk cannot be made without root, so a trigger makes the server raise the very error it raises then.
 */

const DEGRADED_TEXT = 'Our systems are out of reach for a moment (refusals test).';
const CUSTOMER = '12345';
const STATEMENT_TIMEOUT_MS = 400;

describe('PostgreSQL refusing a statement for a passing reason (a lock held too long, a full disk)', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let baseUrl: string;
  let held: Client | undefined;
  const refused: string[] = [];

  const transfer = (requestId: string) => sendGenericTurn(baseUrl, transferTurnBody(requestId, CUSTOMER, 100n));
  const balances = () => accountBalances(database.url, CUSTOMER);

  /** Runs `statements` in a transaction left open on the test's own session, holding their locks until `release`. */
  async function hold(...statements: string[]): Promise<void> {
    held = new Client({ connectionString: database.url });
    await held.connect();
    await held.query('BEGIN');
    for (const statement of statements) await held.query(statement, statement.includes('$1') ? [CUSTOMER] : []);
  }

  async function release(): Promise<void> {
    await held?.query('ROLLBACK');
    await held?.end();
    held = undefined;
  }

  /** Makes the server raise 53100 disk_full, with its real message, for every insert into `table`. */
  async function fillTheDiskFor(table: string): Promise<void> {
    await queryTestDatabase(
      database.url,
      `CREATE OR REPLACE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'could not extend file "base/16384/16397": No space left on device'
           USING ERRCODE = 'disk_full', HINT = 'Check free disk space.';
       END $$`,
    );
    await queryTestDatabase(
      database.url,
      `CREATE TRIGGER disk_full BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION disk_full()`,
    );
  }

  const freeTheDiskFor = (table: string) => queryTestDatabase(database.url, `DROP TRIGGER disk_full ON ${table}`);

  async function expectRefused(requestId: string, outcome: 'busy' | 'degraded', why: RegExp): Promise<void> {
    const answer = await transfer(requestId);
    expect({ status: answer.status, body: answer.json() }).toMatchObject({
      status: 200,
      body: { requestId, outcome: 'failed', text: DEGRADED_TEXT, failed: true },
    });
    refused.push(requestId);
    const line = new RegExp(`"msg":"Turn ${requestId} \\(TransferFunds\\) answered ${outcome}: ${why.source}`);
    await service.waitFor(line, 10_000);
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    service = startService({
      DATABASE_URL: database.url,
      PORT: String(port),
      LOG_LEVEL: 'info',
      DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
      DEGRADED_TEXT,
    });
    await service.waitFor(/"msg":"Listening/);
  }, 90_000);

  afterEach(release);

  afterAll(async () => {
    await killService(service);
    await database?.drop();
  });

  it("the customer's accounts locked by other work past statement_timeout: the busy reply, not the failure text", async () => {
    const before = await balances();
    await hold(
      `SELECT a.id FROM accounts a JOIN customers c ON c.id = a.customer_id WHERE c.customer_number = $1 FOR UPDATE`,
    );
    await expectRefused('refusals-row-lock', 'busy', /PostgreSQL cancelled a statement .*: 57014 canceling statement/);
    await release();
    expect(await balances()).toEqual(before);
    // The handler met it: a warning naming the cause, not an error with a stack as for a defect in the handler.
    await service.waitFor(
      /"level":"warn".*"msg":"TransferFundsHandler failed on intent \\"TransferFunds\\" \(request refusals-row-lock\): PostgreSQL cancelled a statement/,
    );
  }, 30_000);

  it('the turn keys locked by maintenance past statement_timeout: the busy reply, not a 500', async () => {
    await hold('LOCK TABLE idempotency_records IN SHARE MODE');
    await expectRefused(
      'refusals-table-lock',
      'busy',
      /PostgreSQL cancelled a statement .*: 57014 canceling statement/,
    );
  }, 30_000);

  it.each([
    ['the turn key is claimed', 'not a 500', 'idempotency_records', 'refusals-disk-claim'],
    ['the transfer is written', 'not the failure text', 'transfers', 'refusals-disk-write'],
  ])(
    'out of disk space when %s: the degraded reply, %s',
    async (_when, _before, table, requestId) => {
      await fillTheDiskFor(table);
      try {
        await expectRefused(requestId, 'degraded', /PostgreSQL is out of disk space: 53100 could not extend/);
      } finally {
        await freeTheDiskFor(table);
      }
    },
    30_000,
  );

  it('nothing of a refused turn was kept: each, re-sent once the cause is gone, moves the money exactly once', async () => {
    expect(refused).toHaveLength(4);
    const before = await balances();
    expect(await transferCounts(database.url, refused)).toEqual([0, 0, 0, 0]);
    for (const requestId of refused) {
      expect({ requestId, outcome: (await transfer(requestId)).json().outcome }).toEqual({
        requestId,
        outcome: 'fulfilled',
      });
    }
    // And a retry of a turn that went through is answered from its stored reply, moving nothing.
    expect((await transfer(refused[0])).json()).toMatchObject({ outcome: 'fulfilled' });
    expect(await transferCounts(database.url, refused)).toEqual([1, 1, 1, 1]);
    expect(await balances()).toEqual({
      checking: before.checking - 400n,
      savings: before.savings + 400n,
    });
    expect(service.output()).not.toMatch(/"status":500/);
    expect(service.output()).not.toMatch(/"level":"error"/);
  }, 30_000);
});
