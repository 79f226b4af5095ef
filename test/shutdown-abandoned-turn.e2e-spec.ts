/**
 * A turn still running when SIGTERM comes, whose caller has already gone (a platform that gave up, a client that
 * disconnected): nothing waited for it, since its connection was closed, and the pools closed under it. Its transfer
 * committed, but the reply was never stored ("Cannot use a pool after calling end on the pool"), so its claim stayed
 * held and a retry of the turn waited for the lease to lapse. Now the shutdown waits for running turns (within the
 * grace period) before the pools close. A real process; the transfer is held on a row lock the test takes.
 */
import { request as httpRequest } from 'node:http';
import { Client } from 'pg';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { genericTurnKey, transferCounts, transferTurnBody } from './support/generic-turns';
import { exitWithin, freePort, killService, type ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, queryTestDatabase, type TestDatabase } from './support/test-database';

const CUSTOMER = '12345';
const REQUEST_ID = 'shutdown-abandoned-turn-1';

describe('shutdown with a turn whose caller has gone', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let locker: Client;
  let port: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    port = await freePort();
    service = startService({
      DATABASE_URL: database.url,
      PORT: String(port),
      LOG_LEVEL: 'info',
      SHUTDOWN_DELAY_MS: '0',
      SHUTDOWN_GRACE_MS: '10000',
      GENERIC_DEADLINE_MS: '8000',
    });
    await service.waitFor(/"msg":"Listening/);
    locker = new Client({ connectionString: database.url });
    await locker.connect();
  }, 90_000);

  afterAll(async () => {
    await killService(service);
    await locker?.end().catch(() => undefined);
    await database?.drop();
  });

  /** Statements of the service waiting for a row lock (the test's). */
  const waitingOnLocks = async (): Promise<number> => {
    const [row] = await queryTestDatabase<{ n: string }>(
      database.url,
      `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    return Number(row?.n ?? 0);
  };

  it('lets the turn finish and store its reply before the pools close, and exits 0', async () => {
    await locker.query('BEGIN');
    await locker.query(
      `SELECT a.id FROM accounts a JOIN customers c ON c.id = a.customer_id WHERE c.customer_number = $1 FOR UPDATE`,
      [CUSTOMER],
    );
    const body = JSON.stringify(transferTurnBody(REQUEST_ID, CUSTOMER, 100n));
    const sent = httpRequest(`http://127.0.0.1:${port}/v1/webhooks/generic`, {
      method: 'POST',
      headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    });
    sent.on('error', () => undefined);
    sent.end(body);
    for (let i = 0; i < 100 && (await waitingOnLocks()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await waitingOnLocks()).toBe(1);

    // The caller gives up, then the service is told to stop; the transfer is still waiting for the lock.
    sent.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    service.child.kill('SIGTERM');
    await service.waitFor(/SIGTERM received/, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await locker.query('ROLLBACK');

    expect(await exitWithin(service.exited, 20_000)).toEqual({ code: 0, signal: null });
    const output = service.output();
    expect(output).toContain('Stopped cleanly');
    expect(output).not.toContain('Could not store the response');
    expect(output).not.toContain('turn(s) still running');
    expect(await transferCounts(database.url, [REQUEST_ID])).toEqual([1]);
    const records = await queryTestDatabase<{ state: string; response_status: number | null }>(
      database.url,
      'SELECT state, response_status FROM idempotency_records WHERE key = $1',
      [genericTurnKey(REQUEST_ID)],
    );
    expect(records).toEqual([{ state: 'completed', response_status: 200 }]);
  }, 60_000);
});
