import { isUntrustedCertificate } from '../net/tls-errors';

/**
 * A Redis connection's error for the log; when it is Redis's TLS certificate (`rediss://`) that Node does not
 * trust, also what to do about it.
 */
export function redisErrorText(error: unknown): string {
  const text = String(error);
  if (!isUntrustedCertificate(error)) return text;
  return `${text} (Redis's TLS certificate is not trusted: add the CA that signed it with NODE_EXTRA_CA_CERTS)`;
}
