import { eventually } from './support/eventually';
import { accountBalances, sendGenericTurn, transferCounts, transferTurnBody } from './support/generic-turns';
import { freePort, killIfRunning, killService, type ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, queryTestDatabase, type TestDatabase } from './support/test-database';

/**
 * PostgreSQL that answers but takes no writes: what a connection can still reach after a failover moved the
 * primary elsewhere (the old primary, now a standby), or a primary set read-only (`default_transaction_read_only`,
 * as some managed services do when storage runs out). Turns that write get the degraded reply, not a 500; reads
 * are answered; nothing is half-written; and once the server takes writes again, the service does too, without a
 * restart: the connections that met the refusal were replaced, not reused. A real service process; the database's
 * default is switched with ALTER DATABASE, and its sessions are ended so that new ones take it.
 */

const DEGRADED_TEXT = 'Our systems are out of reach for a moment (read-only test).';
const CUSTOMER = '12345';
/** Re-sending a turn after the server takes writes again: each refusal replaces one connection of the pool (10). */
const RECOVERY_ATTEMPTS = 15;

describe('PostgreSQL that takes no writes (a standby after a failover, a primary set read-only)', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let baseUrl: string;
  let afterFirst: { checking: bigint; savings: bigint };
  const refused: string[] = [];

  const turn = (body: Record<string, unknown>) =>
    sendGenericTurn(baseUrl, { sessionId: `read-only-${String(body.requestId)}`, stage: 'fulfillment', ...body });
  const transfer = (requestId: string) => turn(transferTurnBody(requestId, CUSTOMER, 100n));
  const balanceTurn = (requestId: string) =>
    turn({ requestId, intent: 'GetAccountBalance', parameters: { user_id: CUSTOMER, account_type: 'checking' } });

  const balances = () => accountBalances(database.url, CUSTOMER);
  const transferRows = (requestIds: string[]) => transferCounts(database.url, requestIds);

  /** The database's default for new sessions; with `endSessions`, the service's sessions are ended to take it. */
  async function setReadOnly(on: boolean, endSessions: boolean): Promise<void> {
    const server = process.env.DATABASE_URL as string;
    await queryTestDatabase(
      server,
      `ALTER DATABASE ${database.name} ${on ? 'SET default_transaction_read_only = on' : 'RESET default_transaction_read_only'}`,
    );
    if (endSessions) {
      await queryTestDatabase(
        server,
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database.name],
      );
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    service = startService({
      DATABASE_URL: database.url,
      PORT: String(port),
      LOG_LEVEL: 'info',
      DB_PROBE_INTERVAL_MS: '200',
      DEGRADED_TEXT,
    });
    await service.waitFor(/"msg":"Listening/);
  }, 90_000);

  afterAll(async () => {
    await killService(service);
    await database?.drop();
  });

  it('moves the money while the server takes writes', async () => {
    const answer = await transfer('read-only-first');
    expect(answer.status).toBe(200);
    expect(answer.json()).toMatchObject({
      outcome: 'fulfilled',
      text: expect.stringMatching(/^Done: I moved \$1\.00/),
    });
    afterFirst = await balances();
  });

  it('read-only: a transfer gets the degraded reply (not a 500), a read is answered, nothing is written', async () => {
    await setReadOnly(true, true);
    // The sessions ended under the service: it reconnects, and reads go on.
    await eventually(async () => {
      const read = await balanceTurn(`read-only-read-${Date.now()}`);
      expect(read.json()).toMatchObject({
        outcome: 'fulfilled',
        text: expect.stringContaining('balance is $3,246.82'),
      });
    }, 20_000);

    for (let n = 1; n <= 3; n += 1) {
      const requestId = `read-only-refused-${n}`;
      const answer = await transfer(requestId);
      // Before: 500 INTERNAL, its stack trace logged.
      expect({ status: answer.status, body: answer.json() }).toMatchObject({
        status: 200,
        body: { requestId, outcome: 'failed', text: DEGRADED_TEXT, failed: true },
      });
      refused.push(requestId);
    }
    expect(await balances()).toEqual(afterFirst);
    expect(await transferRows(refused)).toEqual([0, 0, 0]);
    // The access line is written after the reply went out.
    await service.waitFor(/answered degraded: PostgreSQL takes no writes \(a standby, or set read-only\)/, 10_000);
    expect(service.output()).not.toMatch(/"status":500/);
  }, 60_000);

  it('takes writes again without a restart: each refused turn, re-sent, moves the money once', async () => {
    // The service's sessions are left as they are: those that met the refusal were replaced already, and any
    // other is replaced at its first refused write.
    await setReadOnly(false, false);
    for (const requestId of refused) {
      let outcome: unknown;
      for (let attempt = 0; attempt < RECOVERY_ATTEMPTS && outcome !== 'fulfilled'; attempt += 1) {
        outcome = (await transfer(requestId)).json().outcome;
      }
      expect({ requestId, outcome }).toEqual({ requestId, outcome: 'fulfilled' });
    }
    expect(await transferRows(refused)).toEqual([1, 1, 1]);
    const now = await balances();
    expect(now.checking).toBe(afterFirst.checking - 300n);
    expect(now.savings).toBe(afterFirst.savings + 300n);
  }, 60_000);

  it('a start on a server that takes no writes fails in one line that says so (not "cannot listen")', async () => {
    await setReadOnly(true, false);
    const starting = startService({ DATABASE_URL: database.url, PORT: String(await freePort()), LOG_LEVEL: 'info' });
    try {
      const { code } = await starting.exited;
      expect(code).toBe(1);
      const output = starting.output();
      // Before: "the HTTP server cannot listen on …:PORT (25006); set PORT to a free port", after TypeORM's text
      // about installing pgcrypto and a failed statement with its parameters, both on stderr.
      expect(output).toContain(
        'Start-up failed: PostgreSQL takes no writes (25006: a standby, or default_transaction_read_only is on), ' +
          'and starting needs some (migrations, the job queue); point DATABASE_URL at the primary (or list the ' +
          'servers with target_session_attrs=read-write)\n',
      );
      const lines = output.trim().split('\n');
      const notJson = lines.filter((line) => !line.startsWith('{'));
      expect(notJson).toEqual([expect.stringMatching(/^Start-up failed: PostgreSQL takes no writes/)]);
      expect(output).not.toMatch(/cannot listen|pgcrypto|PARAMETERS/);
    } finally {
      killIfRunning(starting.child);
      await setReadOnly(false, false);
    }
  }, 60_000);
});
