/**
 * A keep-alive timeout longer than the grace period (HTTP_KEEP_ALIVE_TIMEOUT_MS=65000 is the usual advice behind a
 * cloud load balancer): an idle keep-alive connection held the stop until Node timed it out, past
 * SHUTDOWN_GRACE_MS, and the process was forced out with exit code 1, skipping the audit flush and the rest of the
 * close. Now such connections are closed when the grace period's drain part ends. A real process, a real
 * keep-alive connection left idle.
 */
import { Agent, request } from 'node:http';
import { LOCAL_DEV_AUTH, README_REQUEST } from './support/dialogflow-es.fixtures';
import { exitWithin, freePort, killService, type ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, type TestDatabase } from './support/test-database';

describe('shutdown with a keep-alive timeout longer than the grace period', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let port: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    port = await freePort();
    service = startService({
      DATABASE_URL: database.url,
      PORT: String(port),
      LOG_LEVEL: 'info',
      SHUTDOWN_DELAY_MS: '0',
      SHUTDOWN_GRACE_MS: '5000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '60000',
    });
    await service.waitFor(/"msg":"Listening/);
  }, 90_000);

  afterAll(async () => {
    await killService(service);
    await database?.drop();
  });

  it('closes the idle connection at the end of the drain and exits 0, "Stopped cleanly", within the grace', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const body = JSON.stringify(README_REQUEST);
    const status = await new Promise<number>((resolve, reject) => {
      const sent = request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/webhooks/dialogflow-es',
          method: 'POST',
          agent,
          headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        },
      );
      sent.on('error', reject);
      sent.end(body);
    });
    expect(status).toBe(200);
    // The connection stays open and idle in the agent's pool.
    const closed = new Promise<void>((resolve) => {
      const [socket] = Object.values(agent.freeSockets).flat();
      expect(socket).toBeDefined();
      socket?.once('close', () => resolve());
    });

    service.child.kill('SIGTERM');
    expect(await exitWithin(service.exited, 15_000)).toEqual({ code: 0, signal: null });
    await closed;
    expect(service.output()).toContain('Stopped cleanly');
    expect(service.output()).not.toContain('Shutdown took longer');
    agent.destroy();
  }, 60_000);
});
