import { randomBytes } from 'node:crypto';
import { eventually } from './support/eventually';
import { accountBalances, sendGenericTurn, transferTurnBody } from './support/generic-turns';
import { freePort, killService, type ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, queryTestDatabase, type TestDatabase } from './support/test-database';

/**
 * PostgreSQL refusing the service's login while it runs (credentials revoked or rotated under it: here its role
 * loses LOGIN and its sessions are ended). Turns get the degraded reply, nothing is half-written, the log names
 * the cause once the probe meets it (the first error is only the ended session), and once the login is allowed
 * again the service recovers by itself. A real service process on a role of its own.
 */

const DEGRADED_TEXT = 'Our systems are out of reach for a moment (login test).';
const CUSTOMER = '12345';

describe('PostgreSQL refusing the login of a running service', () => {
  const role = `wf_e2e_login_${randomBytes(4).toString('hex')}`;
  const server = (): string => process.env.DATABASE_URL as string;
  let database: TestDatabase;
  let service: ServiceProcess;
  let baseUrl: string;
  const degraded: string[] = [];

  const transfer = (requestId: string) => sendGenericTurn(baseUrl, transferTurnBody(requestId, CUSTOMER, 100n));

  const checking = async (): Promise<bigint> => (await accountBalances(database.url, CUSTOMER)).checking;

  beforeAll(async () => {
    database = await createTestDatabase();
    // A superuser of its own, so the test can take its login away without touching anyone else's.
    const password = randomBytes(12).toString('hex');
    await queryTestDatabase(server(), `CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${password}'`);
    const url = new URL(database.url);
    url.username = role;
    url.password = password;
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    service = startService({
      DATABASE_URL: url.toString(),
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
    await queryTestDatabase(server(), `DROP ROLE IF EXISTS ${role}`);
  });

  it('answers degraded while its login is refused, names the cause, and recovers once it is allowed again', async () => {
    const before = await checking();
    expect((await transfer('login-before')).json()).toMatchObject({ outcome: 'fulfilled' });

    await queryTestDatabase(server(), `ALTER ROLE ${role} NOLOGIN`);
    await queryTestDatabase(server(), 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [
      role,
    ]);
    for (let n = 1; n <= 3; n += 1) {
      const requestId = `login-refused-${n}`;
      const answer = await transfer(requestId);
      expect({ status: answer.status, body: answer.json() }).toMatchObject({
        status: 200,
        body: { requestId, outcome: 'failed', text: DEGRADED_TEXT, failed: true },
      });
      degraded.push(requestId);
    }
    // The first line names what the service saw first, often only its session ending; the probe's reconnection
    // names the cause.
    const cause =
      /"msg":"PostgreSQL is (unreachable \(|still unreachable, now: )role \\"wf_e2e_login_[0-9a-f]+\\" is not permitted/g;
    await service.waitFor(new RegExp(cause.source));
    expect(await checking()).toBe(before - 100n);

    await queryTestDatabase(server(), `ALTER ROLE ${role} LOGIN`);
    await service.waitFor(/"msg":"PostgreSQL is reachable again after \d+ ms"/, 20_000);
    for (const requestId of degraded) {
      await eventually(async () => expect((await transfer(requestId)).json()).toMatchObject({ outcome: 'fulfilled' }));
    }
    expect(await checking()).toBe(before - 400n);
    // Each cause once per outage, not once per probe.
    expect(service.output().match(cause)).toHaveLength(1);
  }, 60_000);
});
