import { isUntrustedCertificate } from '../common/net/tls-errors';

const CERTIFICATE_DATES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/**
 * What to do about an error met while connecting to PostgreSQL over TLS, or reading the files DATABASE_URL names
 * for it (`sslrootcert`, `sslcert`, `sslkey`); undefined for any other error. Node's own messages ("self-signed
 * certificate in certificate chain") say what failed, not which setting to change.
 */
export function connectErrorHint(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, syscall, path } = error as { code?: unknown; syscall?: unknown; path?: unknown };
  if (typeof code !== 'string') return undefined;
  const what = `(${code}: ${error.message})`;
  if (isUntrustedCertificate(error)) {
    return `PostgreSQL's TLS certificate is not trusted ${what}: set sslrootcert in DATABASE_URL to the CA that signed it`;
  }
  if (CERTIFICATE_DATES.has(code)) return `PostgreSQL's TLS certificate is not valid now ${what}`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `PostgreSQL's TLS certificate is not for the host in DATABASE_URL ${what}: connect by a name it lists`;
  }
  if (syscall === 'open' && typeof path === 'string') {
    return `a file DATABASE_URL names cannot be read ${what}: check sslrootcert, sslcert and sslkey`;
  }
  return undefined;
}
