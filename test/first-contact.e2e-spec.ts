import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LOCAL_DEV_AUTH, README_REQUEST } from './support/dialogflow-es.fixtures';
import { freePort, ServiceProcess, startService } from './support/service-process';
import { createEmptyTestDatabase, createTestDatabase, queryTestDatabase, TestDatabase } from './support/test-database';
import { generateCertificates, httpsPost, pem } from './support/tls-fixtures';

const ROOT = join(__dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

async function occupy(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

async function stop(service: ServiceProcess | undefined): Promise<void> {
  if (service && service.child.exitCode === null) {
    service.child.kill('SIGTERM');
    await service.exited;
  }
}

/** This machine's first address that is not loopback: how another host on the network reaches the service. */
const NETWORK_ADDRESS = Object.values(networkInterfaces())
  .flat()
  .find((entry) => entry && entry.family === 'IPv4' && !entry.internal)?.address;

/**
 * The tests that call from the network need an address on one. A machine without one (offline, a container with
 * no network) skips them with a warning; CI has one, and fails without it.
 */
function itFromTheNetwork(): jest.It {
  if (NETWORK_ADDRESS) return it;
  const problem = 'this machine has no non-loopback IPv4 address to call the service from';
  if (process.env.CI) throw new Error(`${problem}. The first-contact tests need one on CI.`);
  console.warn(`${problem}. Skipping the tests that call from the network.`);
  return it.skip;
}

function networkAddress(): string {
  if (!NETWORK_ADDRESS) throw new Error('this machine has no non-loopback IPv4 address to call the service from');
  return NETWORK_ADDRESS;
}

describe('first contact: what a newcomer meets on start-up (real processes)', () => {
  describe('a port that is taken', () => {
    let blocker: { server: Server; port: number };
    beforeEach(async () => (blocker = await occupy()));
    afterEach(() => blocker.server.close());

    it('HTTP: one line naming the port and the setting, before the database is started', async () => {
      const service = startService({ PORT: String(blocker.port), EMBEDDED_PG_PORT: String(await freePort()) });
      expect((await service.exited).code).toBe(1);
      expect(service.output().trim()).toBe(
        `Start-up failed: the HTTP server cannot listen on 127.0.0.1:${blocker.port} (the port is already in use by another process); set PORT to a free port`,
      );
    });

    it('gRPC: one line, no stack trace', async () => {
      const service = startService({
        PORT: String(await freePort()),
        GRPC_ENABLED: 'true',
        GRPC_PORT: String(blocker.port),
        DATABASE_URL: process.env.DATABASE_URL ?? '',
      });
      expect((await service.exited).code).toBe(1);
      expect(service.output().trim()).toBe(
        `Start-up failed: the gRPC server cannot listen on 127.0.0.1:${blocker.port} (the port is already in use by another process); set GRPC_PORT to a free port or GRPC_ENABLED=false`,
      );
    });
  });

  describe('the local development token with TLS on every interface', () => {
    const certs = mkdtempSync(join(tmpdir(), 'wf-first-contact-certs-'));
    let database: TestDatabase;
    let service: ServiceProcess;
    let port: number;

    beforeAll(async () => {
      generateCertificates(certs);
      database = await createTestDatabase();
      port = await freePort();
      service = startService({
        PORT: String(port),
        TLS_CERT_FILE: join(certs, 'server.crt'),
        TLS_KEY_FILE: join(certs, 'server.key'),
        DATABASE_URL: database.url,
      });
      await service.waitFor(/Listening on https:\/\/0\.0\.0\.0:\d+/);
    });

    afterAll(async () => {
      await stop(service);
      await database.drop();
      rmSync(certs, { recursive: true, force: true });
    });

    const call = (host: string) =>
      httpsPost({
        host,
        port,
        ca: pem(certs, 'ca.crt'),
        headers: LOCAL_DEV_AUTH,
        body: JSON.stringify(README_REQUEST),
      });

    it('is accepted from loopback', async () => {
      const response = await call('127.0.0.1');
      expect(response.status).toBe(200);
      expect(response.json.fulfillmentText).toContain('$3,247.82');
    });

    itFromTheNetwork()('is refused from the network like any bad credential', async () => {
      const response = await call(networkAddress());
      expect(response.status).toBe(401);
      expect(response.json).toMatchObject({ error: 'UNAUTHENTICATED', message: 'Missing or invalid credentials.' });
    });

    it('says so at start-up', () => {
      expect(service.output()).toContain('accepts the token \\"local-dev-token\\" from loopback addresses only');
    });
  });

  describe('your own empty database in development (DATABASE_URL set)', () => {
    let database: TestDatabase;
    let service: ServiceProcess | undefined;

    beforeEach(async () => (database = await createEmptyTestDatabase()));
    afterEach(async () => {
      await stop(service);
      await database.drop();
    });

    it('gets the demo data, so the README curl answers as printed', async () => {
      const port = await freePort();
      service = startService({ PORT: String(port), DATABASE_URL: database.url });
      await service.waitFor(/Listening on http:\/\/127\.0\.0\.1:\d+/);
      expect(service.output()).toMatch(/Seeded demo data: banking, appointments, commerce/);
      const example = /```sh\n(curl -s http:\/\/127\.0\.0\.1:8080\/v1\/webhooks\/dialogflow-es[\s\S]*?)```/.exec(
        README,
      )?.[1];
      const { stdout } = await promisify(execFile)('bash', ['-c', (example ?? '').replace(':8080/', `:${port}/`)]);
      expect(JSON.parse(stdout)).toMatchObject({ fulfillmentText: expect.stringContaining('$3,247.82') });
    });

    it('with SEED_DEMO_DATA=false, gets no data and one line saying how to add it', async () => {
      service = startService({ PORT: String(await freePort()), DATABASE_URL: database.url, SEED_DEMO_DATA: 'false' });
      await service.waitFor(/Listening on http:\/\//);
      expect(service.output()).toContain(
        'The database has no demo data for the README examples: run \\"npm run db:seed\\" to add it',
      );
      expect(await queryTestDatabase(database.url, 'SELECT 1 FROM customers')).toEqual([]);
    });
  });
});
