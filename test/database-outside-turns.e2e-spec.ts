import { Client } from 'pg';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { sendGenericTurn } from './support/generic-turns';
import { eventually } from './support/eventually';
import { type RawResponse, sendRaw } from './support/raw-http';
import { freePort, killService, type ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, queryTestDatabase, type TestDatabase } from './support/test-database';

/**
 * Requests outside a turn that read the database, the bot's polling of an async fulfillment and the operator
 * console's API, when PostgreSQL cannot serve them: a table locked past `statement_timeout` (maintenance), or the
 * database refusing the service's connections. Before, each got 500 INTERNAL and an error line with a stack trace;
 * now 503 UNAVAILABLE with Retry-After, a JSON body that says to retry, and one warning naming the cause; and
 * the same requests are answered again once the cause is gone. A real service process, real locks, a real
 * database closed to connections.
 */

const STATEMENT_TIMEOUT_MS = 400;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('PostgreSQL unable to serve a request outside a turn (polling, the console API)', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let baseUrl: string;
  let adminUrl: string;
  let fulfillmentId: string;
  let held: Client | undefined;

  const server = () => process.env.DATABASE_URL as string;
  const poll = () => sendRaw(baseUrl, `/v1/fulfillments/${fulfillmentId}`, { method: 'GET', headers: LOCAL_DEV_AUTH });
  const deadDeliveries = () => sendRaw(adminUrl, '/api/deliveries?status=dead', { method: 'GET' });

  function expectUnavailable(answer: RawResponse): void {
    expect({ status: answer.status, retryAfter: answer.headers['retry-after'], body: answer.json() }).toEqual({
      status: 503,
      retryAfter: '5',
      body: {
        statusCode: 503,
        error: 'UNAVAILABLE',
        message: 'The service is temporarily unavailable; retry shortly.',
        requestId: expect.any(String),
      },
    });
  }

  async function lock(table: string): Promise<void> {
    held = new Client({ connectionString: database.url });
    await held.connect();
    await held.query('BEGIN');
    await held.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  }

  async function unlock(): Promise<void> {
    await held?.query('ROLLBACK');
    await held?.end();
    held = undefined;
  }

  async function closeTheDatabase(closed: boolean): Promise<void> {
    await queryTestDatabase(server(), `ALTER DATABASE ${database.name} ALLOW_CONNECTIONS ${closed ? 'false' : 'true'}`);
    if (closed) {
      await queryTestDatabase(
        server(),
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database.name],
      );
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    const [port, adminPort] = [await freePort(), await freePort()];
    baseUrl = `http://127.0.0.1:${port}`;
    adminUrl = `http://127.0.0.1:${adminPort}`;
    service = startService({
      DATABASE_URL: database.url,
      PORT: String(port),
      ADMIN_ENABLED: 'true',
      ADMIN_PORT: String(adminPort),
      LOG_LEVEL: 'info',
      DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
      DB_PROBE_INTERVAL_MS: '200',
    });
    await service.waitFor(/"msg":"Listening/);
    const accepted = await sendGenericTurn(baseUrl, {
      requestId: 'outside-turns-statement',
      sessionId: 'outside-turns',
      intent: 'RequestStatement',
      parameters: { user_id: '12345', account_type: 'checking' },
    });
    fulfillmentId = accepted.json<{ sessionParameters: { pendingFulfillmentId: string } }>().sessionParameters
      .pendingFulfillmentId;
    expect(fulfillmentId).toMatch(UUID);
    await eventually(async () => expect((await poll()).json()).toMatchObject({ status: 'completed' }), 15_000);
  }, 90_000);

  afterEach(unlock);

  afterAll(async () => {
    await killService(service);
    await closeTheDatabase(false).catch(() => undefined);
    await database?.drop();
  });

  it('answers both while PostgreSQL serves them', async () => {
    expect((await poll()).status).toBe(200);
    expect((await deadDeliveries()).status).toBe(200);
  });

  it('a table locked by maintenance past statement_timeout: 503 with Retry-After, not 500', async () => {
    await lock('fulfillments');
    expectUnavailable(await poll());
    await service.waitFor(
      /"msg":"GET \/v1\/fulfillments\/[0-9a-f-]+ answered UNAVAILABLE \(request [0-9a-f-]+\): PostgreSQL cancelled a statement .*57014/,
      10_000,
    );
    await unlock();

    await lock('callback_deliveries');
    expectUnavailable(await deadDeliveries());
    await service.waitFor(/"msg":"GET \/api\/deliveries answered UNAVAILABLE .*57014/, 10_000);
    await unlock();

    expect((await poll()).json()).toMatchObject({ status: 'completed' });
    expect((await deadDeliveries()).status).toBe(200);
  }, 30_000);

  it('the database refusing connections: 503 with Retry-After, and answered again once it takes them', async () => {
    await closeTheDatabase(true);
    await eventually(async () => expectUnavailable(await poll()), 10_000);
    expectUnavailable(await deadDeliveries());
    await service.waitFor(/"msg":"PostgreSQL is unreachable/, 10_000);

    await closeTheDatabase(false);
    await eventually(async () => expect((await poll()).json()).toMatchObject({ status: 'completed' }), 15_000);
    expect((await deadDeliveries()).status).toBe(200);
    expect(service.output()).not.toMatch(/"status":500/);
    expect(service.output()).not.toMatch(/"context":"HttpError","err"/);
  }, 40_000);
});
