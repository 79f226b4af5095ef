/**
 * A turn answered "timed out" during the shutdown delay keeps running as late work, waiting on a carrier that never
 * answers (CARRIER_TIMEOUT_MS longer than the grace period). The close at the end of the grace period waited for that
 * outbound request (undici's Agent#close), past SHUTDOWN_GRACE_MS, and the process was forced out with exit code 1,
 * skipping the final flushes and pool closes. Now the request still running when the application closes is aborted,
 * and the process stops cleanly. A real process, a real carrier server on 127.0.0.1 that never answers.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { sendGenericTurn } from './support/generic-turns';
import { exitWithin, freePort, killService, type ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, type TestDatabase } from './support/test-database';

describe('shutdown with an outbound request that outlasts the grace period', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let carrier: Server;
  const carrierSockets = new Set<Socket>();
  const carrierRequests: IncomingMessage[] = [];
  let port: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    // Takes every request and never answers.
    carrier = createServer((request) => carrierRequests.push(request));
    carrier.on('connection', (socket) => {
      carrierSockets.add(socket);
      socket.once('close', () => carrierSockets.delete(socket));
    });
    await new Promise<void>((resolve) => carrier.listen(0, '127.0.0.1', resolve));
    const { port: carrierPort } = carrier.address() as { port: number };
    port = await freePort();
    service = startService({
      DATABASE_URL: database.url,
      PORT: String(port),
      LOG_LEVEL: 'info',
      SHUTDOWN_DELAY_MS: '1000',
      SHUTDOWN_GRACE_MS: '5000',
      GENERIC_DEADLINE_MS: '500',
      CARRIER_API_URL: `http://127.0.0.1:${carrierPort}`,
      CARRIER_TIMEOUT_MS: '30000',
      CARRIER_RETRIES: '0',
    });
    await service.waitFor(/"msg":"Listening/);
  }, 90_000);

  afterAll(async () => {
    await killService(service);
    for (const socket of carrierSockets) socket.destroy();
    await new Promise((resolve) => carrier?.close(resolve));
    await database?.drop();
  });

  it('aborts the carrier call at the close and exits 0, "Stopped cleanly"', async () => {
    service.child.kill('SIGTERM');
    await service.waitFor(/Readiness is false/, 5_000);
    // During the delay the service still serves: the turn times out (GENERIC_DEADLINE_MS) and goes on as late work.
    const answer = await sendGenericTurn(`http://127.0.0.1:${port}`, {
      requestId: 'shutdown-late-outbound-1',
      sessionId: 'shutdown-late-outbound',
      intent: 'GetShippingEstimate',
      parameters: { sku: 'X200', postcode: '10117' },
    });
    expect(answer.status).toBe(200);
    expect(carrierRequests).toHaveLength(1);

    expect(await exitWithin(service.exited, 20_000)).toEqual({ code: 0, signal: null });
    const output = service.output();
    expect(output).not.toContain('Shutdown took longer');
    // The close itself finished (the final flushes, the pools), not cut short by the grace period's end.
    expect(output).not.toContain('still closing at the end of the grace period');
    expect(output).toContain('Carrier estimate failed: the service is stopping');
    const lateLine = output.indexOf('late result(s) not stored');
    const stopped = output.indexOf('Stopped cleanly');
    expect(lateLine).toBeGreaterThan(-1);
    expect(stopped).toBeGreaterThan(lateLine);
  }, 60_000);
});
