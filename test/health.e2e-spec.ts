import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TlsReloader } from '../src/auth/tls/tls-reloader';
import { createHttpApp } from '../src/app.factory';
import { loadConfig } from '../src/config';
import { ProbeServer } from '../src/health/probe-server';
import { Readiness } from '../src/health/readiness';
import { createTestDatabase } from './support/test-database';
import { generateCertificates, httpsPost, pem } from './support/tls-fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { grpcServices, openGrpcClient, unary } from './support/grpc-client';
import { eventually } from './support/eventually';
import { FaultProxy } from './faults/support/fault-proxy';

/** grpc.health.v1 Check for the whole server, over plaintext gRPC on loopback. */
async function grpcHealth(port: number): Promise<unknown> {
  const client = openGrpcClient(port, undefined, grpcServices.grpc.health.v1.Health);
  try {
    return await unary(client, 'Check', { service: '' });
  } finally {
    client.close();
  }
}

interface Health {
  status: string;
  info?: Record<string, { status: string }>;
  error?: Record<string, { status: string; message?: string }>;
}

async function health(baseUrl: string, path: string): Promise<{ status: number; body: Health }> {
  const response = await fetch(`${baseUrl}${path}`);
  return { status: response.status, body: (await response.json()) as Health };
}

describe('health endpoints (terminus JSON, real PostgreSQL)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('liveness is the process only', async () => {
    const live = await health(t.baseUrl, '/health/live');
    expect(live).toMatchObject({ status: 200, body: { status: 'ok', info: { process: { status: 'up' } } } });
    expect(Object.keys(live.body.info!)).toEqual(['process']);
  });

  it('readiness checks listening, shutdown, database, job queue, memory and certificate, and reports read replicas', async () => {
    const ready = await health(t.baseUrl, '/health/ready');
    // The whole answer, so a failure says which check was down and why.
    expect(ready).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(Object.keys(ready.body.info!).sort()).toEqual([
      'certificate',
      'database',
      'jobQueue',
      'listening',
      'memory',
      'readReplicas',
      'shutdown',
    ]);
    expect(ready.body.info!.readReplicas).toEqual({ status: 'up', configured: 0 });
  });
});

describe('readiness while starting', () => {
  it('is not ready on the probe port until the service’s own port listens', async () => {
    const database = await createTestDatabase();
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'fatal',
      GRPC_ENABLED: 'false',
      METRICS_ENABLED: 'false',
      PROBE_PORT: '0',
      DATABASE_URL: database.url,
      PORT: '0',
    });
    const app = await createHttpApp(config);
    try {
      // The probe listener starts with the application; the service's port later (main.ts: init, then listen).
      await app.init();
      const probes = `http://127.0.0.1:${app.get(ProbeServer).port}`;
      const starting = await health(probes, '/health/ready');
      expect(starting.status).toBe(503);
      expect(starting.body.error?.listening).toEqual({ status: 'down', message: 'starting: not listening yet' });
      await app.listen(0, '127.0.0.1');
      expect(await health(probes, '/health/ready')).toMatchObject({ status: 200, body: { status: 'ok' } });
    } finally {
      await app.close();
      await database.drop();
    }
  });
});

describe('readiness limits', () => {
  let t: TestApp;
  afterEach(() => t?.close());

  it('is not ready when the heap is above HEALTH_HEAP_LIMIT_MB, over HTTP and gRPC health alike, and stays live', async () => {
    t = await startTestApp({ env: { HEALTH_HEAP_LIMIT_MB: '64', GRPC_ENABLED: 'true' } });
    const ready = await health(t.baseUrl, '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error?.memory).toMatchObject({ status: 'down', message: 'heap above HEALTH_HEAP_LIMIT_MB' });
    expect((await health(t.baseUrl, '/health/live')).status).toBe(200);
    expect(await grpcHealth(t.grpcPort!)).toEqual({ status: 'NOT_SERVING' });
  });

  it('stays ready with a certificate 3 days from expiry, its days left reported (HEALTH_CERT_MIN_DAYS 0), and a refused renewal does not change them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-health-'));
    try {
      generateCertificates(dir);
      // The server's key, certified by the development CA for 3 days: every replica would serve it, and a margin
      // of 7 days (the old default) took them all out of the Service at once.
      const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
      openssl(['req', '-new', '-key', 'server.key', '-subj', '/CN=localhost', '-out', 'short.csr']);
      writeFileSync(join(dir, 'short.ext'), 'subjectAltName = DNS:localhost, IP:127.0.0.1\n');
      openssl([
        'x509',
        '-req',
        '-in',
        'short.csr',
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '3',
        '-extfile',
        'short.ext',
        '-out',
        'short.crt',
      ]);
      t = await startTestApp({
        env: {
          TLS_CERT_FILE: join(dir, 'short.crt'),
          TLS_KEY_FILE: join(dir, 'server.key'),
          TLS_CA_FILE: join(dir, 'ca.crt'),
        },
      });
      const { port } = t.app.getHttpServer().address() as AddressInfo;
      const answer = await httpsPost({ port, method: 'GET', path: '/health/ready', ca: pem(dir, 'ca.crt') });
      expect(answer.status).toBe(200);
      expect((answer.json as unknown as Health).info?.certificate).toMatchObject({ status: 'up', daysLeft: 2 });

      // A renewal written over it that the reloader refuses (its key is another one, of another type, which node:tls
      // does not notice itself): the 3-day certificate is still what clients get, so readiness still reads it, not
      // the file's 400 days.
      openssl(['genrsa', '-out', 'other.key', '2048']);
      openssl(['req', '-new', '-key', 'other.key', '-subj', '/CN=localhost', '-out', 'renewed.csr']);
      openssl(
        ['x509', '-req', '-in', 'renewed.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
          '-days',
          '400',
          '-extfile',
          'short.ext',
          '-out',
          'short.crt',
        ]),
      );
      expect(t.app.get(TlsReloader).reload()).toBe(false);
      // A look past the cached one (a look holds for 10 s).
      expect(t.app.get(Readiness).certificate(Date.now() + 11_000)).toMatchObject({ ok: true, daysLeft: 2 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is not ready when the serving certificate expires within HEALTH_CERT_MIN_DAYS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-health-'));
    try {
      generateCertificates(dir);
      // The dev server certificate is valid for about a year: ten years of margin cannot be met.
      t = await startTestApp({
        env: {
          TLS_CERT_FILE: join(dir, 'server.crt'),
          TLS_KEY_FILE: join(dir, 'server.key'),
          TLS_CA_FILE: join(dir, 'ca.crt'),
          HEALTH_CERT_MIN_DAYS: '365',
        },
      });
      const { port } = t.app.getHttpServer().address() as AddressInfo;
      const answer = await httpsPost({ port, method: 'GET', path: '/health/ready', ca: pem(dir, 'ca.crt') });
      expect(answer.status).toBe(503);
      expect((answer.json as unknown as Health).error?.certificate).toMatchObject({
        status: 'down',
        message: 'the certificate expires within 365 days',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('gRPC health with DEGRADED_MODE=503 while nothing else uses PostgreSQL (a real TCP path, then cut)', () => {
  let proxy: FaultProxy;
  let t: TestApp;
  /** Check with a deadline: it waits on PostgreSQL's answer (bounded by the probe's timeout) as HTTP readiness does. */
  const check = async (): Promise<unknown> => {
    const client = openGrpcClient(t.grpcPort!, undefined, grpcServices.grpc.health.v1.Health);
    try {
      return await unary(client, 'Check', { service: '' }, undefined, 15_000);
    } finally {
      client.close();
    }
  };

  beforeAll(async () => {
    proxy = await FaultProxy.start(5432);
    t = await startTestApp({
      env: { GRPC_ENABLED: 'true', DEGRADED_MODE: '503', DB_PROBE_INTERVAL_MS: '500' },
      connectVia: (url) => {
        const through = new URL(url);
        proxy.retarget(Number(through.port || 5432));
        through.host = `127.0.0.1:${proxy.port}`;
        return through.toString();
      },
    });
  }, 60_000);

  afterAll(async () => {
    proxy?.heal();
    await t?.close();
    await proxy?.close();
  });

  it('answers NOT_SERVING once PostgreSQL cannot be reached, with no HTTP probe or turn to notice, and SERVING once it is back', async () => {
    expect(await check()).toEqual({ status: 'SERVING' });
    // Every connection through the path is reset, and each new one: the replica is idle, only gRPC probes ask.
    proxy.reset();
    await eventually(async () => expect(await check()).toEqual({ status: 'NOT_SERVING' }), 20_000, 200);
    proxy.heal();
    await eventually(async () => expect(await check()).toEqual({ status: 'SERVING' }), 20_000, 200);
  }, 60_000);

  it('streams the same changes to a Watch, with nothing else asking', async () => {
    const client = openGrpcClient(t.grpcPort!, undefined, grpcServices.grpc.health.v1.Health);
    const watch = client.Watch({ service: '' });
    const seen: string[] = [];
    watch.on('data', (message: { status: string }) => seen.push(message.status));
    watch.on('error', () => undefined);
    try {
      await eventually(() => expect(seen).toEqual(['SERVING']), 20_000);
      proxy.reset();
      await eventually(() => expect(seen).toEqual(['SERVING', 'NOT_SERVING']), 20_000);
      proxy.heal();
      await eventually(() => expect(seen).toEqual(['SERVING', 'NOT_SERVING', 'SERVING']), 20_000);
    } finally {
      watch.cancel();
      client.close();
    }
  }, 60_000);
});
