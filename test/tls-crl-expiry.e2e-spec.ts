import { Logger } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TlsReloader } from '../src/auth/tls/tls-reloader';
import { README_REQUEST } from './support/dialogflow-es.fixtures';
import { auditRows, waitForAuditRow } from './support/audit-events';
import { eventually } from './support/eventually';
import { freePort, killService, startService, type ServiceProcess } from './support/service-process';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { startTestApp, type TestApp } from './support/test-app';
import { generateCertificates, httpsPost, pem } from './support/tls-fixtures';

const TOKEN = 'crl-token-only-0123456789abcdef';
const SERVING = ['server.crt', 'server.key', 'ca.crt', 'ca.crl.pem'];

/** A CRL of the set's CA issued by `openssl ca -gencrl` with `args` (its dates), written to `out`. */
function issueCrl(set: string, out: string, args: readonly string[]): void {
  execFileSync('openssl', ['ca', '-batch', '-config', 'ca-db/openssl.cnf', '-gencrl', ...args, '-out', out], {
    cwd: set,
    stdio: 'ignore',
  });
}

/** `openssl crl -nextupdate`, in ms since the epoch. */
function nextUpdateOf(file: string): number {
  const text = execFileSync('openssl', ['crl', '-in', file, '-noout', '-nextupdate'], { encoding: 'utf8' });
  return Date.parse(text.replace('nextUpdate=', '').trim());
}

const EXPIRED = ['-crl_lastupdate', '20200101000000Z', '-crl_nextupdate', '20200102000000Z'];
/** Issued by a CA whose clock is decades ahead: not valid before 2060 (its thisUpdate). */
const AHEAD = ['-crl_lastupdate', '20600101000000Z', '-crl_nextupdate', '20600201000000Z'];

/** `at` (ms) as openssl's -crl_lastupdate/-crl_nextupdate take it, to the second: YYYYMMDDHHMMSSZ. */
function opensslTime(at: number): string {
  return `${new Date(at).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

describe('CRLs past their nextUpdate (real openssl CRLs, real TLS)', () => {
  const root = mkdtempSync(join(tmpdir(), 'wf-crl-expiry-'));
  const set = join(root, 'set');
  const live = join(root, 'live');
  const callers = join(root, 'callers.yaml');

  beforeAll(() => {
    generateCertificates(set);
    issueCrl(set, join(set, 'expired.crl.pem'), EXPIRED);
    issueCrl(set, join(set, 'ahead.crl.pem'), AHEAD);
    mkdirSync(live);
    for (const file of SERVING) copyFileSync(join(set, file), join(live, file));
    writeFileSync(
      callers,
      [
        'callers:',
        '  - id: dialogflow-mtls',
        '    platforms: [dialogflow-es]',
        '    certificate: { uriSAN: spiffe://bank.example/ns/bots/sa/dialogflow }',
        '    auth: { mtls: {} }',
        '  - id: token-only',
        '    platforms: [dialogflow-es]',
        `    auth: { bearer: { tokens: [${TOKEN}] } }`,
        '',
      ].join('\n'),
    );
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  describe('at start-up (a restart during the CA’s CRL publishing lapse)', () => {
    let database: TestDatabase;
    let service: ServiceProcess | undefined;

    beforeAll(async () => {
      database = await createTestDatabase();
    });

    afterAll(async () => {
      await killService(service);
      await database?.drop();
    });

    /** The built service on the set's certificates and `crl`, until it listens; `call` posts the README request. */
    const startWithCrl = async (crl: string, env: Record<string, string>) => {
      await killService(service);
      const port = await freePort();
      service = startService({
        NODE_ENV: 'development',
        LOG_LEVEL: 'info',
        PORT: String(port),
        DATABASE_URL: database.url,
        CALLERS_FILE: callers,
        TLS_CERT_FILE: join(set, 'server.crt'),
        TLS_KEY_FILE: join(set, 'server.key'),
        TLS_CA_FILE: join(set, 'ca.crt'),
        TLS_CRL_FILE: crl,
        TLS_CLIENT_AUTH: 'optional',
        ...env,
      });
      await service.waitFor(/Listening on/);
      const logLine = (text: string) =>
        service
          ?.output()
          .split('\n')
          .find((line) => line.includes(text));
      const call = (credentials: { cert?: Buffer; key?: Buffer; headers?: Record<string, string> }) =>
        httpsPost({ port, body: JSON.stringify(README_REQUEST), ca: pem(set, 'ca.crt'), ...credentials });
      return { logLine, call };
    };

    it('starts with an expired CRL: logs it, serves callers without a client certificate, refuses that CA’s certificates (before, it exited)', async () => {
      const metricsPort = await freePort();
      const crl = join(set, 'expired.crl.pem');
      const { logLine, call } = await startWithCrl(crl, {
        // The gRPC port reads the same files at start-up.
        GRPC_ENABLED: 'true',
        GRPC_PORT: String(await freePort()),
        METRICS_ENABLED: 'true',
        METRICS_PORT: String(metricsPort),
      });

      const line = logLine('The CRL in force (TLS_CRL_FILE) expired at 2020-01-02T00:00:00.000Z');
      expect(line).toBeDefined();
      expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 'error' });
      expect(line).toContain(
        `TLS_CRL_FILE: ${crl}: CRL 1 of 1 expired at 2020-01-02T00:00:00.000Z (its nextUpdate), issued by ` +
          'O=webhook-fulfillment development, CN=webhook-fulfillment development root CA',
      );
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(/^tls_crl_next_update_timestamp_seconds(?:\{[^}]*\})? (\S+)$/m.exec(metrics)?.[1]).toBe(
        String(Date.UTC(2020, 0, 2) / 1000),
      );

      expect((await call({ headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      expect((await call({ cert: pem(set, 'client.crt'), key: pem(set, 'client.key') })).status).toBe(401);
      const row = await waitForAuditRow(database.url, (r) => r.reason === 'crl-expired');
      expect(row).toMatchObject({ event: 'authn_login_fail', method: 'mtls', detail: 'CRL_HAS_EXPIRED' });
    }, 90_000);

    it('starts with a CRL that has not begun: logs it, serves callers without a client certificate, audits the refusals as such', async () => {
      const crl = join(set, 'ahead.crl.pem');
      const { logLine, call } = await startWithCrl(crl, { GRPC_ENABLED: 'false', METRICS_ENABLED: 'false' });
      const line = logLine(`TLS_CRL_FILE: ${crl}: CRL 1 of 1 is not valid before 2060-01-01T00:00:00.000Z`);
      expect(line).toBeDefined();
      expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 'error' });
      expect(line).toContain('every client certificate of its CA is refused (CRL_NOT_YET_VALID) until then');

      expect((await call({ headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      expect((await call({ cert: pem(set, 'client.crt'), key: pem(set, 'client.key') })).status).toBe(401);
      const row = await waitForAuditRow(database.url, (r) => r.reason === 'crl-not-yet-valid');
      expect(row).toMatchObject({ event: 'authn_login_fail', method: 'mtls', detail: 'CRL_NOT_YET_VALID' });
    }, 90_000);
  });

  describe('while serving', () => {
    let t: TestApp;
    let port: number;
    let metricsUrl: string;
    let errors: jest.SpyInstance;
    let warnings: jest.SpyInstance;

    const withCertificate = () =>
      httpsPost({
        port,
        body: JSON.stringify(README_REQUEST),
        ca: pem(set, 'ca.crt'),
        cert: pem(set, 'client.crt'),
        key: pem(set, 'client.key'),
      });
    const withToken = () =>
      httpsPost({
        port,
        body: JSON.stringify(README_REQUEST),
        ca: pem(set, 'ca.crt'),
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
    const logged = (spy: jest.SpyInstance) => spy.mock.calls.map((call) => String(call[0]));
    const crlGauge = async () => {
      const text = await (await fetch(metricsUrl)).text();
      return /^tls_crl_next_update_timestamp_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1];
    };

    beforeAll(async () => {
      errors = jest.spyOn(Logger.prototype, 'error');
      warnings = jest.spyOn(Logger.prototype, 'warn');
      const metricsPort = await freePort();
      metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
      t = await startTestApp({
        env: {
          CALLERS_FILE: callers,
          TLS_CERT_FILE: join(live, 'server.crt'),
          TLS_KEY_FILE: join(live, 'server.key'),
          TLS_CA_FILE: join(live, 'ca.crt'),
          TLS_CRL_FILE: join(live, 'ca.crl.pem'),
          TLS_CLIENT_AUTH: 'optional',
          TLS_RELOAD_INTERVAL_MS: '100',
          METRICS_ENABLED: 'true',
          METRICS_PORT: String(metricsPort),
        },
      });
      port = (t.app.getHttpServer().address() as AddressInfo).port;
    });

    afterAll(async () => {
      errors?.mockRestore();
      warnings?.mockRestore();
      await t?.close();
    });

    it('publishes when the CRL in force expires', async () => {
      expect((await withCertificate()).status).toBe(200);
      expect(Number(await crlGauge())).toBe(nextUpdateOf(join(live, 'ca.crl.pem')) / 1000);
    });

    it('keeps the CRL in force when the file is replaced by an expired one, and audits the refusal', async () => {
      const before = readFileSync(join(live, 'ca.crl.pem'));
      copyFileSync(join(set, 'expired.crl.pem'), join(live, 'ca.crl.pem'));
      const refused = await waitForAuditRow(t.database.url, (row) => row.event === 'sys_config_reload_fail');
      expect(refused).toMatchObject({ reason: 'tls' });
      expect(refused.detail).toContain('CRL 1 of 1 expired at 2020-01-02T00:00:00.000Z (its nextUpdate)');
      expect(logged(errors).some((line) => line.includes('Kept the current TLS certificates'))).toBe(true);
      // Before, the expired CRL was applied and every client certificate was refused (CRL_HAS_EXPIRED).
      expect((await withCertificate()).status).toBe(200);
      expect(t.app.get(TlsReloader).reload()).toBe(false);
      writeFileSync(join(live, 'ca.crl.pem'), before);
    });

    it('warns when a CRL in force is about to expire, and says so once it has (client certificates refused, tokens served)', async () => {
      // A CRL valid for a few seconds more, applied by a reload.
      const soon = join(set, 'soon.crl.pem');
      issueCrl(set, soon, ['-crlsec', '4']);
      const nextUpdate = nextUpdateOf(soon);
      copyFileSync(soon, join(live, 'ca.crl.pem'));
      await waitForAuditRow(
        t.database.url,
        (row) => row.event === 'sys_config_reload' && row.detail === 'trust store changed',
      );
      expect(Number(await crlGauge())).toBe(nextUpdate / 1000);
      expect(
        logged(warnings).some((line) => /The CRL in force \(TLS_CRL_FILE\) expires at .*, in 1 min/.test(line)),
      ).toBe(true);
      expect((await withCertificate()).status).toBe(200);

      await sleep(Math.max(0, nextUpdate - Date.now()) + 300);
      expect(
        logged(errors).some((line) =>
          line.includes(`The CRL in force (TLS_CRL_FILE) expired at ${new Date(nextUpdate).toISOString()}`),
        ),
      ).toBe(true);
      expect((await withCertificate()).status).toBe(401);
      const row = await waitForAuditRow(t.database.url, (r) => r.reason === 'crl-expired');
      expect(row).toMatchObject({ event: 'authn_login_fail', method: 'mtls', detail: 'CRL_HAS_EXPIRED' });
      // Callers without a client certificate are still served: readiness is not failed for the CRL.
      expect((await withToken()).status).toBe(200);
    });

    it('applies an expired CRL in place of one that has expired itself (nothing is lost), then a fresh one', async () => {
      const reloads = async () =>
        (await auditRows(t.database.url)).filter((row) => row.event === 'sys_config_reload').length;
      const count = await reloads();
      copyFileSync(join(set, 'expired.crl.pem'), join(live, 'ca.crl.pem'));
      await eventually(async () => expect(await reloads()).toBe(count + 1));
      expect(Number(await crlGauge())).toBe(Date.UTC(2020, 0, 2) / 1000);
      expect((await withCertificate()).status).toBe(401);
      expect((await withToken()).status).toBe(200);
      copyFileSync(join(set, 'ca.crl.pem'), join(live, 'ca.crl.pem'));
      await eventually(async () => expect(await reloads()).toBe(count + 2));
      expect((await withCertificate()).status).toBe(200);
    });

    it('holds a new CRL back until its thisUpdate (a CA whose clock runs ahead of this host), then applies it', async () => {
      const reloads = async () =>
        (await auditRows(t.database.url)).filter((row) => row.event === 'sys_config_reload').length;
      const count = await reloads();
      const ahead = join(set, 'seconds-ahead.crl.pem');
      const begins = Math.ceil(Date.now() / 1000) * 1000 + 3000;
      const ends = begins + 7 * 24 * 3600 * 1000;
      issueCrl(set, ahead, ['-crl_lastupdate', opensslTime(begins), '-crl_nextupdate', opensslTime(ends)]);
      copyFileSync(ahead, join(live, 'ca.crl.pem'));
      await eventually(() =>
        expect(logged(warnings)).toContainEqual(
          expect.stringContaining(
            `Kept the current TLS certificates until the new CRL begins: TLS_CRL_FILE: ${join(live, 'ca.crl.pem')}: ` +
              `CRL 1 of 1 is not valid before ${new Date(begins).toISOString()} (its thisUpdate)`,
          ),
        ),
      );
      // Before, it was applied at once, and every client certificate was refused (CRL_NOT_YET_VALID) until then.
      expect((await withCertificate()).status).toBe(200);
      expect(await reloads()).toBe(count);

      await sleep(Math.max(0, begins - Date.now()));
      await eventually(async () => expect(await reloads()).toBe(count + 1));
      expect(Number(await crlGauge())).toBe(ends / 1000);
      expect((await withCertificate()).status).toBe(200);
      expect(
        logged(warnings).filter((line) =>
          line.startsWith('Kept the current TLS certificates until the new CRL begins'),
        ),
      ).toHaveLength(1);
      copyFileSync(join(set, 'ca.crl.pem'), join(live, 'ca.crl.pem'));
      await eventually(async () => expect(await reloads()).toBe(count + 2));
    });
  });
});
