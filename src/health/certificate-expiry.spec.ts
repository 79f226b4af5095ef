import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCertificateExpiry } from './certificate-expiry';

const DAY_MS = 86_400_000;

describe('checkCertificateExpiry', () => {
  let dir: string;
  let cert: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wf-cert-'));
    cert = join(dir, 'server.crt');
    // A real certificate valid for 30 days, made by openssl like the dev certificates.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '30',
        '-subj',
        '/CN=health-test',
        '-keyout',
        join(dir, 'server.key'),
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes a certificate valid for longer than the minimum, with its expiry', () => {
    const result = checkCertificateExpiry(cert, 7);
    expect(result).toMatchObject({ ok: true, daysLeft: 29 });
    expect(Date.parse(result.expiresAt!)).toBeGreaterThan(Date.now() + 29 * DAY_MS);
  });

  it('fails one expiring within the minimum', () => {
    expect(checkCertificateExpiry(cert, 60)).toMatchObject({
      ok: false,
      reason: 'the certificate expires within 60 days',
      daysLeft: 29,
    });
  });

  it('fails an expired one', () => {
    expect(checkCertificateExpiry(cert, 0, Date.now() + 31 * DAY_MS)).toMatchObject({
      ok: false,
      reason: 'the certificate has expired',
    });
  });

  it('fails a missing or unreadable file without leaking its content', () => {
    expect(checkCertificateExpiry(join(dir, 'missing.crt'), 7)).toEqual({
      ok: false,
      reason: 'cannot read the certificate (ENOENT)',
    });
    const garbage = join(dir, 'garbage.crt');
    writeFileSync(garbage, 'not a certificate');
    expect(checkCertificateExpiry(garbage, 7)).toEqual({ ok: false, reason: 'the certificate cannot be parsed' });
  });
});
