import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProbeServer } from '../src/health/probe-server';
import { auditRows, waitForAuditRow } from './support/audit-events';
import { README_REQUEST } from './support/dialogflow-es.fixtures';
import { eventually } from './support/eventually';
import { startTestApp, type TestApp } from './support/test-app';
import { generateCertificates, httpsPost, pem } from './support/tls-fixtures';

const BODY = JSON.stringify(README_REQUEST);

function callersFile(dir: string, entries: { id: string; certificate: string }[]): string {
  const path = join(dir, 'callers.yaml');
  const lines = ['callers:'];
  for (const entry of entries) {
    lines.push(
      `  - id: ${entry.id}`,
      '    platforms: [dialogflow-es]',
      `    certificate: { ${entry.certificate} }`,
      '    auth: { mtls: {} }',
    );
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** Opens a raw TCP connection, sends nothing, and resolves with how long the server took to close it. */
function silentConnection(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port });
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error('the server kept a silent connection open for 5 s'));
    }, 5000);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(guard);
      resolve(Date.now() - started);
    });
  });
}

function plainGet(port: number, path: string, method = 'GET'): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function httpsGet(
  port: number,
  path: string,
  ca: Buffer,
  client?: { cert: Buffer; key: Buffer },
): Promise<number> {
  return (await httpsPost({ port, method: 'GET', path, ca, ...client })).status;
}

/**
 * Opens a TLS connection without a client certificate, sends nothing, and resolves with the error the server's
 * answer raised: a refusal inside the handshake arrives as a TLS alert, a connection cut afterwards does not.
 */
function handshakeOutcome(port: number, ca: Buffer, alpn: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca, ALPNProtocols: [alpn] });
    const guard = setTimeout(() => socket.destroy(), 5000);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(guard);
      resolve(error.code ?? error.message);
    });
    socket.on('close', () => {
      clearTimeout(guard);
      resolve('closed without a TLS alert');
    });
  });
}

describe('TLS hardening (real TLS sockets, certificates made by the test)', () => {
  const root = mkdtempSync(join(tmpdir(), 'wf-tls-hardening-'));
  const dev = join(root, 'dev');
  const client = (name: string) => ({ cert: pem(dev, `${name}.crt`), key: pem(dev, `${name}.key`) });

  beforeAll(() => generateCertificates(dev));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  describe('TLS_HANDSHAKE_TIMEOUT_MS', () => {
    let t: TestApp;
    let port: number;

    beforeAll(async () => {
      t = await startTestApp({
        env: {
          HOST: '127.0.0.1',
          GRPC_ENABLED: 'true',
          TLS_CERT_FILE: join(dev, 'server.crt'),
          TLS_KEY_FILE: join(dev, 'server.key'),
          TLS_CA_FILE: join(dev, 'ca.crt'),
          TLS_CLIENT_AUTH: 'require',
          TLS_HANDSHAKE_TIMEOUT_MS: '500',
        },
      });
      port = (t.app.getHttpServer().address() as AddressInfo).port;
    }, 60_000);
    afterAll(() => t?.close());

    it('closes a connection that never starts its handshake on the HTTPS port, and audits it', async () => {
      const closedAfter = await silentConnection(port);
      expect(closedAfter).toBeGreaterThanOrEqual(400);
      expect(closedAfter).toBeLessThan(3000);
      const row = await waitForAuditRow(t.database.url, (r) => r.detail === 'ERR_TLS_HANDSHAKE_TIMEOUT');
      expect(row).toMatchObject({ event: 'authn_login_fail', reason: 'tls-handshake-failed' });
    });

    it('closes a connection that never starts its handshake on the gRPC port', async () => {
      const closedAfter = await silentConnection(t.grpcPort ?? 0);
      expect(closedAfter).toBeGreaterThanOrEqual(400);
      expect(closedAfter).toBeLessThan(3000);
      await waitForAuditRow(t.database.url, (r) => r.detail === 'grpc: ERR_TLS_HANDSHAKE_TIMEOUT');
    });
  });

  describe('TLS_CLIENT_AUTH=require with PROBE_PORT', () => {
    let t: TestApp;
    let port: number;
    let probePort: number;
    const ca = () => pem(dev, 'ca.crt');

    beforeAll(async () => {
      const dir = join(root, 'require');
      mkdirSync(dir);
      t = await startTestApp({
        env: {
          HOST: '127.0.0.1',
          CALLERS_FILE: callersFile(dir, [
            { id: 'dialogflow-mtls', certificate: 'uriSAN: spiffe://bank.example/ns/bots/sa/dialogflow' },
          ]),
          TLS_CERT_FILE: join(dev, 'server.crt'),
          TLS_KEY_FILE: join(dev, 'server.key'),
          TLS_CA_FILE: join(dev, 'ca.crt'),
          TLS_CRL_FILE: join(dev, 'ca.crl.pem'),
          TLS_CLIENT_AUTH: 'require',
          PROBE_PORT: '0',
          GRPC_ENABLED: 'true',
        },
      });
      port = (t.app.getHttpServer().address() as AddressInfo).port;
      probePort = t.app.get(ProbeServer).port ?? 0;
    }, 60_000);
    afterAll(() => t?.close());

    it.each(['/health/live', '/health/ready', '/v1/webhooks/dialogflow-es', '/openapi.json', '/no-such-route'])(
      'refuses a connection without a client certificate at the handshake on %s',
      async (path) => {
        await expect(httpsGet(port, path, ca())).rejects.toThrow();
      },
    );

    it.each([
      ['HTTPS', 'http/1.1'],
      ['gRPC', 'h2'],
    ])('refuses a connection without a client certificate inside the handshake on the %s port', async (name, alpn) => {
      const grpcPort = t.grpcPort ?? 0;
      expect(await handshakeOutcome(name === 'gRPC' ? grpcPort : port, ca(), alpn)).toBe(
        'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      );
      await waitForAuditRow(
        t.database.url,
        (r) => r.reason === 'certificate-required' && (name === 'gRPC') === (r.detail ?? '').startsWith('grpc'),
      );
    });

    it.each([
      ['none', undefined, 'certificate-required'],
      ['a revoked one', 'client-revoked', 'certificate-revoked'],
      ['one from an unknown CA', 'client-unknown', 'certificate-untrusted'],
      ['an expired one', 'client-expired', 'certificate-expired'],
    ])('refuses a connection with %s before any request is read, and audits why', async (_label, name, reason) => {
      const lastId = Math.max(0, ...(await auditRows(t.database.url)).map((r) => Number(r.id)));
      await expect(httpsGet(port, '/health/live', ca(), name ? client(name) : undefined)).rejects.toThrow();
      const row = await waitForAuditRow(t.database.url, (r) => Number(r.id) > lastId && r.reason === reason);
      expect(row).toMatchObject({ event: 'authn_login_fail', method: 'mtls' });
    });

    it('serves every route to a verified client certificate', async () => {
      expect(await httpsGet(port, '/health/live', ca(), client('client'))).toBe(200);
      const turn = await httpsPost({ port, body: BODY, ca: ca(), ...client('client') });
      expect(turn.status).toBe(200);
    });

    it('answers the probes on the plain-HTTP probe port, and nothing else there', async () => {
      expect(probePort).toBeGreaterThan(0);
      expect((await plainGet(probePort, '/health/live')).status).toBe(200);
      const ready = await plainGet(probePort, '/health/ready');
      // The whole answer, so a failure says which check was down and why.
      expect({ status: ready.status, body: JSON.parse(ready.text) as unknown }).toMatchObject({
        status: 200,
        body: { status: 'ok' },
      });
      for (const path of ['/v1/webhooks/dialogflow-es', '/openapi.json', '/health', '/']) {
        const other = await plainGet(probePort, path, path === '/' ? 'GET' : 'POST');
        expect(other.status).toBe(404);
        expect(JSON.parse(other.text)).toMatchObject({ statusCode: 404, error: 'NOT_FOUND' });
      }
    });
  });

  it('opens no probe port without PROBE_PORT (npm start keeps one plain HTTP port)', async () => {
    const t = await startTestApp();
    try {
      expect(t.app.get(ProbeServer).port).toBeUndefined();
      expect((await plainGet(Number(new URL(t.baseUrl).port), '/health/live')).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  /** The PEM with the last byte of its DER (inside the signature) changed: still parses, no longer verifies. */
  const damagedSignature = (text: string, label: 'X509 CRL' | 'CERTIFICATE') => {
    const der = Buffer.from(text.replace(/-----[A-Z0-9 ]+-----/g, '').replace(/\s+/g, ''), 'base64');
    der[der.length - 1] ^= 0x01;
    const body = der.toString('base64').replace(/(.{64})/g, '$1\n');
    return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
  };

  /** A CRL signed by the development PKI's second CA, which the service does not trust. */
  const otherCaCrl = () => {
    const dir = join(root, 'other-ca-crl');
    mkdirSync(join(dir, 'db'), { recursive: true });
    writeFileSync(join(dir, 'db', 'index.txt'), '');
    writeFileSync(join(dir, 'db', 'crlnumber'), '1000\n');
    writeFileSync(
      join(dir, 'ca.cnf'),
      [
        '[ca]',
        'default_ca = own',
        '[own]',
        `database = ${join(dir, 'db', 'index.txt')}`,
        `crlnumber = ${join(dir, 'db', 'crlnumber')}`,
        `certificate = ${join(dev, 'other-ca.crt')}`,
        `private_key = ${join(dev, 'other-ca.key')}`,
        'default_md = sha256',
        'default_crl_days = 30',
        '',
      ].join('\n'),
    );
    execFileSync('openssl', ['ca', '-batch', '-config', join(dir, 'ca.cnf'), '-gencrl', '-out', join(dir, 'crl.pem')], {
      stdio: 'ignore',
    });
    return readFileSync(join(dir, 'crl.pem'), 'utf8');
  };

  describe('a reload with a corrupt, truncated or empty CA bundle or CRL', () => {
    const live = join(root, 'live');
    let t: TestApp;
    let port: number;
    const goodCa = () => readFileSync(join(dev, 'ca.crt'), 'utf8');
    const goodCrl = () => readFileSync(join(dev, 'ca.crl.pem'), 'utf8');

    beforeAll(async () => {
      mkdirSync(live);
      for (const file of ['server.crt', 'server.key', 'ca.crt', 'ca.crl.pem']) {
        copyFileSync(join(dev, file), join(live, file));
      }
      t = await startTestApp({
        env: {
          HOST: '127.0.0.1',
          CALLERS_FILE: callersFile(live, [
            { id: 'dialogflow-mtls', certificate: 'uriSAN: spiffe://bank.example/ns/bots/sa/dialogflow' },
          ]),
          TLS_CERT_FILE: join(live, 'server.crt'),
          TLS_KEY_FILE: join(live, 'server.key'),
          TLS_CA_FILE: join(live, 'ca.crt'),
          TLS_CRL_FILE: join(live, 'ca.crl.pem'),
          TLS_CLIENT_AUTH: 'optional',
          TLS_RELOAD_INTERVAL_MS: '100',
        },
      });
      port = (t.app.getHttpServer().address() as AddressInfo).port;
    }, 60_000);
    afterAll(() => t?.close());

    const call = (name: string) => httpsPost({ port, body: BODY, ca: pem(dev, 'ca.crt'), ...client(name) });

    it.each([
      ['ca.crt', 'garbage', () => 'this is not a certificate\n', 'TLS_CA_FILE'],
      ['ca.crt', 'truncated', () => goodCa().slice(0, Math.floor(goodCa().length / 2)), 'TLS_CA_FILE'],
      ['ca.crt', 'empty', () => '', 'TLS_CA_FILE'],
      [
        'ca.crt',
        'corrupt inside its PEM block',
        () => goodCa().replace(/\n([A-Za-z0-9+/]{64})\n/, (_m, body: string) => `\n${'!'.repeat(body.length)}\n`),
        'TLS_CA_FILE',
      ],
      ['ca.crl.pem', 'garbage', () => 'not a CRL at all', 'TLS_CRL_FILE'],
      ['ca.crl.pem', 'truncated', () => goodCrl().slice(0, Math.floor(goodCrl().length / 2)), 'TLS_CRL_FILE'],
      ['ca.crl.pem', 'empty', () => '', 'TLS_CRL_FILE'],
      // Parseable, so node:tls would apply them: only their signatures tell.
      ['ca.crl.pem', 'damaged in its signature', () => damagedSignature(goodCrl(), 'X509 CRL'), 'TLS_CRL_FILE'],
      ['ca.crl.pem', 'another CA’s CRL', () => otherCaCrl(), 'TLS_CRL_FILE'],
      ['ca.crt', 'damaged in its signature', () => damagedSignature(goodCa(), 'CERTIFICATE'), 'TLS_CA_FILE'],
    ])(
      'refuses %s when it is %s, keeps the last good set and audits the refusal',
      async (file, _how, content, variable) => {
        expect((await call('client')).status).toBe(200);
        const good = readFileSync(join(live, file));
        const refusals = (await auditRows(t.database.url)).filter((r) => r.event === 'sys_config_reload_fail').length;
        writeFileSync(join(live, file), content());
        try {
          await eventually(async () => {
            const rows = (await auditRows(t.database.url)).filter((r) => r.event === 'sys_config_reload_fail');
            expect(rows.length).toBe(refusals + 1);
            expect(rows[rows.length - 1]).toMatchObject({ outcome: 'failure', reason: 'tls' });
            expect(rows[rows.length - 1].detail).toContain(variable);
          }, 10_000);
          // Several polls later the trusted caller still gets in, and the revoked one still does not.
          await new Promise((resolve) => setTimeout(resolve, 300));
          expect((await call('client')).status).toBe(200);
          expect((await call('client-revoked')).status).toBe(401);
        } finally {
          writeFileSync(join(live, file), good);
        }
      },
    );
  });

  describe('a CRL file holding several CRLs (root and intermediates)', () => {
    const pki = join(root, 'pki');
    let t: TestApp;
    let port: number;

    beforeAll(async () => {
      makeIntermediatePki(pki);
      t = await startTestApp({
        env: {
          HOST: '127.0.0.1',
          CALLERS_FILE: callersFile(pki, [
            { id: 'good', certificate: 'subjectCN: good-bot' },
            { id: 'revoked-leaf', certificate: 'subjectCN: revoked-bot' },
            { id: 'under-revoked-ca', certificate: 'subjectCN: orphan-bot' },
          ]),
          TLS_CERT_FILE: join(dev, 'server.crt'),
          TLS_KEY_FILE: join(dev, 'server.key'),
          TLS_CA_FILE: join(pki, 'bundle.crt'),
          TLS_CRL_FILE: join(pki, 'crls.pem'),
          TLS_CLIENT_AUTH: 'optional',
        },
      });
      port = (t.app.getHttpServer().address() as AddressInfo).port;
    }, 60_000);
    afterAll(() => t?.close());

    const call = (name: string) =>
      httpsPost({
        port,
        body: BODY,
        ca: pem(dev, 'ca.crt'),
        cert: pem(pki, `${name}.crt`),
        key: pem(pki, `${name}.key`),
      });

    it('accepts a client certificate issued by an intermediate that no CRL lists', async () => {
      expect((await call('good')).status).toBe(200);
    });

    it('refuses a client certificate revoked by the intermediate CA’s CRL (the second CRL of the file)', async () => {
      const response = await call('revoked');
      expect(response.status).toBe(401);
      await waitForAuditRow(t.database.url, (r) => r.reason === 'certificate-revoked' && r.detail === 'CERT_REVOKED');
    });

    it('refuses a client certificate whose intermediate CA the root’s CRL revokes', async () => {
      const before = (await auditRows(t.database.url)).filter((r) => r.reason === 'certificate-revoked').length;
      const response = await call('orphan');
      expect(response.status).toBe(401);
      await eventually(async () =>
        expect((await auditRows(t.database.url)).filter((r) => r.reason === 'certificate-revoked').length).toBe(
          before + 1,
        ),
      );
    });
  });
});

/**
 * root ─┬─ int-a ─┬─ good.crt
 *       │         └─ revoked.crt   (revoked in int-a's CRL)
 *       └─ int-b ─── orphan.crt    (int-b revoked in root's CRL)
 * bundle.crt = root + int-a + int-b; crls.pem = root's, int-a's and int-b's CRLs, concatenated.
 */
function makeIntermediatePki(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  writeFileSync(
    join(dir, 'ext.cnf'),
    [
      '[ ca_ext ]',
      'basicConstraints = critical, CA:true',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid, issuer',
      '[ leaf_ext ]',
      'basicConstraints = critical, CA:false',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = clientAuth',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid, issuer',
      '',
    ].join('\n'),
  );
  const key = (name: string) =>
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
  let serial = 0x1000;
  const issue = (name: string, cn: string, issuer: string, extensions: string) => {
    key(name);
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
    openssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${issuer}.crt`,
      '-CAkey',
      `${issuer}.key`,
      '-set_serial',
      String((serial += 1)),
      '-days',
      '30',
      '-extfile',
      'ext.cnf',
      '-extensions',
      extensions,
      '-out',
      `${name}.crt`,
    ]);
  };
  const caDatabase = (name: string) => {
    mkdirSync(join(dir, `${name}-db`));
    writeFileSync(join(dir, `${name}-db`, 'index.txt'), '');
    writeFileSync(join(dir, `${name}-db`, 'crlnumber'), '1000\n');
    writeFileSync(
      join(dir, `${name}.cnf`),
      [
        '[ ca ]',
        'default_ca = this_ca',
        '[ this_ca ]',
        `database = ./${name}-db/index.txt`,
        `crlnumber = ./${name}-db/crlnumber`,
        `certificate = ./${name}.crt`,
        `private_key = ./${name}.key`,
        'default_md = sha256',
        'default_crl_days = 30',
        '',
      ].join('\n'),
    );
  };
  const revoke = (ca: string, cert: string) =>
    openssl(['ca', '-batch', '-config', `${ca}.cnf`, '-revoke', `${cert}.crt`]);
  const crl = (ca: string) => openssl(['ca', '-batch', '-config', `${ca}.cnf`, '-gencrl', '-out', `${ca}.crl.pem`]);

  key('root');
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    'root.key',
    '-subj',
    '/CN=hardening test root',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:true',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    'root.crt',
  ]);
  issue('int-a', 'hardening intermediate A', 'root', 'ca_ext');
  issue('int-b', 'hardening intermediate B', 'root', 'ca_ext');
  issue('good', 'good-bot', 'int-a', 'leaf_ext');
  issue('revoked', 'revoked-bot', 'int-a', 'leaf_ext');
  issue('orphan', 'orphan-bot', 'int-b', 'leaf_ext');
  for (const ca of ['root', 'int-a', 'int-b']) caDatabase(ca);
  revoke('root', 'int-b');
  revoke('int-a', 'revoked');
  for (const ca of ['root', 'int-a', 'int-b']) crl(ca);
  const cat = (files: string[]) => files.map((file) => readFileSync(join(dir, file), 'utf8')).join('');
  writeFileSync(join(dir, 'bundle.crt'), cat(['root.crt', 'int-a.crt', 'int-b.crt']));
  writeFileSync(join(dir, 'crls.pem'), cat(['root.crl.pem', 'int-a.crl.pem', 'int-b.crl.pem']));
}
