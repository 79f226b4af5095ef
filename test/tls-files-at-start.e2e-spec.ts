import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:tls';
import { startTestApp, type TestApp } from './support/test-app';
import { generateCertificates, pem } from './support/tls-fixtures';

const SERVING = ['server.crt', 'server.key', 'ca.crt', 'ca.crl.pem'];

/**
 * TLS files that change while the service starts (cert-manager rotating them as the pod comes up): the server
 * is built from them, its reloader then reads them again. It serves what the files hold once it is up, and
 * keeps following them (real TLS sockets, real certificates).
 */
describe('TLS files changed while the service starts', () => {
  const root = mkdtempSync(join(tmpdir(), 'wf-tls-start-'));
  const [setA, setB, live] = ['a', 'b', 'live'].map((name) => join(root, name));
  let t: TestApp;

  beforeAll(async () => {
    generateCertificates(setA);
    generateCertificates(setB);
    mkdirSync(live);
    for (const file of SERVING) copyFileSync(join(setA, file), join(live, file));
    t = await startTestApp({
      env: {
        TLS_CERT_FILE: join(live, 'server.crt'),
        TLS_KEY_FILE: join(live, 'server.key'),
        TLS_CA_FILE: join(live, 'ca.crt'),
        TLS_CRL_FILE: join(live, 'ca.crl.pem'),
        TLS_CLIENT_AUTH: 'optional',
        TLS_RELOAD_INTERVAL_MS: '100',
      },
      // Built from set A; set B is in place before the application starts.
      beforeStart: () => {
        for (const file of SERVING) copyFileSync(join(setB, file), join(live, file));
      },
    });
  });

  afterAll(async () => {
    await t?.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** The fingerprint of the certificate the server presents, trusting `ca`. */
  const served = (ca: Buffer) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(
        { port: (t.app.getHttpServer().address() as AddressInfo).port, host: '127.0.0.1', servername: 'localhost', ca },
        () => {
          resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
          socket.end();
        },
      );
      socket.once('error', reject);
    });

  it('serves the files as they are once it is up, not as they were when it was built', async () => {
    // Several reload intervals: before, the reloader took set B as already applied and the server kept set A.
    await sleep(500);
    expect(await served(pem(setB, 'ca.crt'))).toBe(new X509Certificate(pem(setB, 'server.crt')).fingerprint256);
  });
});
