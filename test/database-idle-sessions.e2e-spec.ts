import { sendGenericTurn, transferTurnBody } from './support/generic-turns';
import { sendRaw } from './support/raw-http';
import { freePort, killService, type ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, queryTestDatabase, type TestDatabase } from './support/test-database';

/**
 * A PostgreSQL that ends idle sessions (`idle_session_timeout`, set by many hardening guides; an administrator's
 * script ending idle backends does the same). Before, the readiness probe's connection, ended while idle, made
 * the next probe declare PostgreSQL unreachable: every readiness check after a quiet spell failed with
 * DEGRADED_MODE=503 and turns got the degraded reply until the next probe, on a healthy database. The
 * notification connection (the cache's channel between replicas) was ended and reopened every few seconds. A real
 * service process; the server's own setting ends the sessions.
 */

const IDLE_SESSION_TIMEOUT_MS = 400;
const QUIET_MS = 3 * IDLE_SESSION_TIMEOUT_MS;

describe('PostgreSQL ending idle sessions (idle_session_timeout)', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let baseUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    await queryTestDatabase(
      process.env.DATABASE_URL as string,
      `ALTER DATABASE ${database.name} SET idle_session_timeout = ${IDLE_SESSION_TIMEOUT_MS}`,
    );
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    service = startService({
      DATABASE_URL: database.url,
      PORT: String(port),
      LOG_LEVEL: 'info',
      DEGRADED_MODE: '503',
      DB_PROBE_INTERVAL_MS: '200',
    });
    await service.waitFor(/"msg":"Listening/);
  }, 90_000);

  afterAll(async () => {
    await killService(service);
    await database?.drop();
  });

  it('after each quiet spell: ready, and turns answered, with no outage declared', async () => {
    for (let spell = 1; spell <= 4; spell += 1) {
      await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
      const ready = await sendRaw(baseUrl, '/health/ready', { method: 'GET' });
      expect({ spell, status: ready.status }).toEqual({ spell, status: 200 });
      await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
      const turn = await sendGenericTurn(baseUrl, transferTurnBody(`idle-sessions-${spell}`, '12345', 1n));
      expect({ spell, status: turn.status, outcome: turn.json().outcome }).toEqual({
        spell,
        status: 200,
        outcome: 'fulfilled',
      });
    }
    // The server did end the service's idle sessions meanwhile (the pools' idle connections)...
    expect(service.output()).toMatch(/terminating connection due to idle-session timeout/);
    // ...but never took that for an outage, and kept the notification connection.
    expect(service.output()).not.toMatch(/PostgreSQL is unreachable/);
    expect(service.output()).not.toMatch(/The notification connection was lost/);
  }, 60_000);
});
