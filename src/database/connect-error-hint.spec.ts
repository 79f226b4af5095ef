import { connectErrorHint } from './connect-error-hint';

const failure = (code: string, message: string, extra: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(message), { code, ...extra });

describe('connectErrorHint', () => {
  it('names the setting to change for a certificate Node would not trust, or one for another host', () => {
    expect(connectErrorHint(failure('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'))).toBe(
      "PostgreSQL's TLS certificate is not trusted (SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in " +
        'certificate chain): set sslrootcert in DATABASE_URL to the CA that signed it',
    );
    expect(connectErrorHint(failure('ERR_TLS_CERT_ALTNAME_INVALID', 'Hostname/IP does not match'))).toMatch(
      /not for the host in DATABASE_URL .*connect by a name it lists$/,
    );
    expect(connectErrorHint(failure('CERT_HAS_EXPIRED', 'certificate has expired'))).toMatch(/not valid now/);
  });

  it('says which settings name files when one of them cannot be read', () => {
    const missing = failure('ENOENT', "ENOENT: no such file or directory, open '/etc/pg/ca.crt'", {
      syscall: 'open',
      path: '/etc/pg/ca.crt',
    });
    expect(connectErrorHint(missing)).toMatch(
      /^a file DATABASE_URL names cannot be read .*sslrootcert, sslcert and sslkey$/,
    );
  });

  it('leaves every other error alone', () => {
    expect(connectErrorHint(failure('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'))).toBeUndefined();
    expect(connectErrorHint(failure('28000', 'no pg_hba.conf entry'))).toBeUndefined();
    expect(connectErrorHint('not an error')).toBeUndefined();
  });
});
