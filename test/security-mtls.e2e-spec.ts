import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { AuditLog } from '../src/audit/audit-log';
import { Agent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { TlsReloader } from '../src/auth/tls/tls-reloader';
import { README_REQUEST } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';
import { generateCertificates, httpsPost, HttpsResponse, pem } from './support/tls-fixtures';

const BODY = JSON.stringify(README_REQUEST);
const BOUND_TOKEN = 'bound-token-0123456789abcdef';
const PLAIN_TOKEN = 'plain-token-0123456789abcdef';
const SERVING = ['server.crt', 'server.key', 'ca.crt', 'ca.crl.pem'];

interface AuditRow extends Record<string, unknown> {
  event: string;
  caller_id: string;
  method: string | null;
  reason: string | null;
  detail: string | null;
}

describe('HTTPS with mutual TLS (real TLS sockets, real certificates)', () => {
  const root = mkdtempSync(join(tmpdir(), 'wf-mtls-'));
  const setA = join(root, 'a');
  const setB = join(root, 'b');
  const live = join(root, 'live');
  let t: TestApp;
  let port: number;

  const client = (set: string, name: string) => ({ cert: pem(set, `${name}.crt`), key: pem(set, `${name}.key`) });
  const post = (options: Partial<Parameters<typeof httpsPost>[0]> = {}): Promise<HttpsResponse> =>
    httpsPost({ port, body: BODY, ca: pem(setA, 'ca.crt'), ...options });

  async function auditRows(): Promise<AuditRow[]> {
    return queryTestDatabase<AuditRow>(t.database.url, 'SELECT * FROM audit_events ORDER BY id');
  }

  /** Waits for the batched audit writer, then returns the rows added since `before`. */
  async function newAuditRows(before: number, expected = 1): Promise<AuditRow[]> {
    for (let i = 0; i < 50; i++) {
      const rows = await auditRows();
      if (rows.length >= before + expected) return rows.slice(before);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return (await auditRows()).slice(before);
  }

  async function waitForAudit(
    predicate: (row: AuditRow) => boolean,
    done: () => Promise<boolean> = () => Promise.resolve(false),
  ): Promise<AuditRow | undefined> {
    for (let i = 0; i < 50; i++) {
      const found = (await auditRows()).find(predicate);
      if (found || (await done())) return found;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return undefined;
  }

  async function expectRefused(response: HttpsResponse, reason: string, before: number): Promise<void> {
    expect(response.status).toBe(401);
    expect(response.json).toMatchObject({
      statusCode: 401,
      error: 'UNAUTHENTICATED',
      message: 'Missing or invalid credentials.',
    });
    const rows = await newAuditRows(before);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ event: 'authn_login_fail', reason });
  }

  beforeAll(async () => {
    generateCertificates(setA);
    generateCertificates(setB);
    mkdirSync(live);
    for (const file of SERVING) copyFileSync(join(setA, file), join(live, file));
    const callers = join(root, 'callers.yaml');
    writeFileSync(
      callers,
      [
        'callers:',
        '  - id: dialogflow-mtls',
        '    platforms: [dialogflow-es]',
        '    certificate: { uriSAN: spiffe://bank.example/ns/bots/sa/dialogflow }',
        '    auth: { mtls: {} }',
        '  - id: crm-bound',
        '    platforms: [dialogflow-es]',
        '    certificate: { subjectCN: crm-bot }',
        `    auth: { bearer: { tokens: [${BOUND_TOKEN}] } }`,
        '  - id: token-only',
        '    platforms: [dialogflow-es]',
        `    auth: { bearer: { tokens: [${PLAIN_TOKEN}] } }`,
        '',
      ].join('\n'),
    );
    t = await startTestApp({
      env: {
        CALLERS_FILE: callers,
        TLS_CERT_FILE: join(live, 'server.crt'),
        TLS_KEY_FILE: join(live, 'server.key'),
        TLS_CA_FILE: join(live, 'ca.crt'),
        TLS_CRL_FILE: join(live, 'ca.crl.pem'),
        TLS_CLIENT_AUTH: 'optional',
        TLS_RELOAD_INTERVAL_MS: '200',
      },
    });
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });

  afterAll(async () => {
    await t?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('accepts a trusted client certificate as the credential, bound by its URI SAN', async () => {
    const response = await post(client(setA, 'client'));
    expect(response.status).toBe(200);
    expect(response.json.fulfillmentText).toContain('$3,247.82');
  });

  it('refuses a certificate from an unknown CA with a JSON 401 and audits why', async () => {
    const before = (await auditRows()).length;
    await expectRefused(await post(client(setA, 'client-unknown')), 'certificate-untrusted', before);
  });

  it('refuses an expired client certificate', async () => {
    const before = (await auditRows()).length;
    await expectRefused(await post(client(setA, 'client-expired')), 'certificate-expired', before);
  });

  it('refuses a revoked client certificate (CRL)', async () => {
    const before = (await auditRows()).length;
    await expectRefused(await post(client(setA, 'client-revoked')), 'certificate-revoked', before);
  });

  it('refuses a trusted certificate bound to no mTLS caller', async () => {
    const before = (await auditRows()).length;
    await expectRefused(await post(client(setA, 'client-other')), 'certificate-mismatch', before);
  });

  it('refuses a request with neither certificate nor token', async () => {
    const before = (await auditRows()).length;
    const response = await post();
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    await expectRefused(response, 'no-credentials', before);
  });

  describe('a token bound to a certificate', () => {
    const auth = { Authorization: `Bearer ${BOUND_TOKEN}` };

    it('passes with the bound certificate', async () => {
      expect((await post({ headers: auth, ...client(setA, 'client-other') })).status).toBe(200);
    });

    it('fails without a certificate', async () => {
      const before = (await auditRows()).length;
      await expectRefused(await post({ headers: auth }), 'certificate-mismatch', before);
    });

    it('fails with the certificate of another caller', async () => {
      const before = (await auditRows()).length;
      await expectRefused(await post({ headers: auth, ...client(setA, 'client') }), 'certificate-mismatch', before);
    });
  });

  it('accepts an unbound token over TLS without a client certificate', async () => {
    expect((await post({ headers: { Authorization: `Bearer ${PLAIN_TOKEN}` } })).status).toBe(200);
  });

  it('refuses TLS 1.1 and audits the failed handshake', async () => {
    const before = (await auditRows()).length;
    await expect(post({ ...client(setA, 'client'), maxVersion: 'TLSv1.1', minVersion: 'TLSv1' })).rejects.toThrow();
    const rows = await newAuditRows(before);
    expect(rows[0]).toMatchObject({ event: 'authn_login_fail', reason: 'tls-handshake-failed' });
  });

  it('negotiates TLS 1.3 by default', async () => {
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pem(setA, 'ca.crt') }, () =>
        resolve(s),
      );
      s.once('error', reject);
    });
    expect(socket.getProtocol()).toBe('TLSv1.3');
    socket.destroy();
  });

  it('with TLS_CLIENT_AUTH=require, refuses a valid token sent without a client certificate at the handshake', async () => {
    const strict = await startTestApp({
      env: {
        CALLERS_FILE: join(root, 'callers.yaml'),
        TLS_CERT_FILE: join(setA, 'server.crt'),
        TLS_KEY_FILE: join(setA, 'server.key'),
        TLS_CA_FILE: join(setA, 'ca.crt'),
        TLS_CLIENT_AUTH: 'require',
      },
    });
    try {
      const strictPort = (strict.app.getHttpServer().address() as AddressInfo).port;
      const headers = { Authorization: `Bearer ${PLAIN_TOKEN}` };
      await expect(httpsPost({ port: strictPort, body: BODY, ca: pem(setA, 'ca.crt'), headers })).rejects.toThrow();
      const rows = await queryTestDatabase<AuditRow>(strict.database.url, 'SELECT * FROM audit_events');
      let reason = rows[0]?.reason;
      for (let i = 0; i < 30 && !reason; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        reason = (await queryTestDatabase<AuditRow>(strict.database.url, 'SELECT * FROM audit_events'))[0]?.reason;
      }
      expect(reason).toBe('certificate-required');
      const withCertificate = await httpsPost({
        port: strictPort,
        body: BODY,
        ca: pem(setA, 'ca.crt'),
        headers,
        ...client(setA, 'client-other'),
      });
      expect(withCertificate.status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  describe('rotation without restart', () => {
    it('serves the new certificate and trusts only the new CA after the files change', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const keptAlive = { ...client(setA, 'client'), agent };
      expect((await post(keptAlive)).status).toBe(200);

      for (const file of SERVING) copyFileSync(join(setB, file), join(live, file));
      // No call into the app: the file poller notices the change on its own.
      expect(await waitForAudit((row) => row.event === 'sys_config_reload')).toBeDefined();

      // The kept-alive connection verified under the old trust store is closed, not reused.
      const reused = await post(keptAlive).then(
        (response) => response.status,
        () => 'closed',
      );
      expect(reused).not.toBe(200);
      agent.destroy();

      // The server now presents the new certificate (the old CA no longer verifies it) …
      await expect(post(client(setA, 'client'))).rejects.toThrow();
      // … and the new chain works end to end.
      const fresh = await post({ ca: pem(setB, 'ca.crt'), ...client(setB, 'client') });
      expect(fresh.status).toBe(200);
      // A client certificate from the old CA is now unknown.
      const old = await post({ ca: pem(setB, 'ca.crt'), ...client(setA, 'client') });
      expect(old.status).toBe(401);

      const reload = await waitForAudit((row) => row.event === 'sys_config_reload');
      expect(reload).toMatchObject({ reason: 'tls', detail: 'trust store changed', outcome: 'success' });
    });

    it('does not resume a TLS session from before the trust store changed', async () => {
      const ca = pem(setB, 'ca.crt');
      const open = (session?: Buffer) =>
        new Promise<TLSSocket>((resolve, reject) => {
          const s = connect(
            {
              host: '127.0.0.1',
              port,
              servername: 'localhost',
              ca,
              ...client(setB, 'client'),
              session,
              maxVersion: 'TLSv1.2',
            },
            () => resolve(s),
          );
          s.once('error', reject);
        });
      const first = await open();
      const session = first.getSession();
      first.destroy();
      const resumed = await open(session);
      expect(resumed.isSessionReused()).toBe(true);
      resumed.destroy();

      // The same CA re-issued as a new file (cert-manager rewrites it) counts as a trust-store change.
      const reloads = (await auditRows()).filter((row) => row.event === 'sys_config_reload').length;
      appendFileSync(join(live, 'ca.crt'), '\n');
      await waitForAudit(
        () => false,
        async () => (await auditRows()).filter((row) => row.event === 'sys_config_reload').length > reloads,
      );
      const afterRotation = await open(session);
      expect(afterRotation.isSessionReused()).toBe(false);
      afterRotation.destroy();
    });

    it('keeps the current certificates when the new files are broken', async () => {
      writeFileSync(join(live, 'server.key'), 'not a key');
      expect(await waitForAudit((row) => row.event === 'sys_config_reload_fail')).toBeDefined();
      expect(t.app.get(TlsReloader).reload()).toBe(false);
      const still = await post({ ca: pem(setB, 'ca.crt'), ...client(setB, 'client') });
      expect(still.status).toBe(200);
      const failed = await waitForAudit((row) => row.event === 'sys_config_reload_fail');
      expect(failed).toMatchObject({ reason: 'tls', outcome: 'failure' });
      // Reported once, not at every poll of the same broken files: several polls, then the queue out.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      await t.app.get(AuditLog).flush();
      expect((await auditRows()).filter((row) => row.event === 'sys_config_reload_fail')).toHaveLength(1);
    });
  });
});
