import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(__dirname, '..', 'scripts', 'certs.mjs');
const certs = (dir: string) => execFileSync(process.execPath, [SCRIPT, '--out', dir], { encoding: 'utf8' });
const openssl = (dir: string, ...args: string[]) => execFileSync('openssl', args, { cwd: dir, encoding: 'utf8' });
const nextUpdate = (dir: string) =>
  Date.parse(openssl(dir, 'crl', '-in', 'ca.crl.pem', '-noout', '-nextupdate').replace('nextUpdate=', '').trim());

/**
 * `npm run certs:dev` keeps an existing set, but the set's CRL lasts 30 days: past that, a service started with
 * TLS_CRL_FILE (the README's mTLS example) refused every client certificate, and the command said "nothing
 * written". Real openssl, a CRL made to expire within the hour.
 */
describe('npm run certs:dev on an existing set (real openssl)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-dev-certs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps a set that works, and issues its CRL again, from its own CA, when it is about to expire', () => {
    certs(dir);
    const caBefore = openssl(dir, 'x509', '-in', 'ca.crt', '-noout', '-fingerprint');
    expect(certs(dir)).toContain('nothing written');

    openssl(dir, 'ca', '-batch', '-config', 'ca-db/openssl.cnf', '-gencrl', '-crlhours', '1', '-out', 'ca.crl.pem');
    expect(nextUpdate(dir) - Date.now()).toBeLessThan(3_600_000 + 60_000);
    expect(certs(dir)).toContain('their CRL was about to expire');
    expect(nextUpdate(dir) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    // The same CA, and the revoked client still revoked.
    expect(openssl(dir, 'x509', '-in', 'ca.crt', '-noout', '-fingerprint')).toBe(caBefore);
    const revoked = openssl(dir, 'x509', '-in', 'client-revoked.crt', '-noout', '-serial')
      .replace('serial=', '')
      .trim();
    expect(openssl(dir, 'crl', '-in', 'ca.crl.pem', '-noout', '-text')).toContain(revoked);
    expect(openssl(dir, 'verify', '-crl_check', '-CAfile', 'ca.crt', '-CRLfile', 'ca.crl.pem', 'client.crt')).toContain(
      'OK',
    );
  });
});
