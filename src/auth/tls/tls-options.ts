import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { ConfigError, type TlsConfig } from '../../config';

export interface TlsMaterial {
  readonly options: SecureContextOptions;
  /** Fingerprints of the files, to notice changes (the trust part separately from the server's own pair). */
  readonly ownDigest: string;
  readonly trustDigest: string;
}

function read(path: string | undefined, variable: string): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (error: unknown) {
    throw new ConfigError([
      `${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
    ]);
  }
}

function digest(...parts: (Buffer | undefined)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part ?? Buffer.alloc(0)).update('\0');
  return hash.digest('hex');
}

/** Reads certificate, key, CA bundle and CRL; a missing or unreadable file is a configuration error. */
export function readTlsMaterial(tls: TlsConfig): TlsMaterial {
  const cert = read(tls.certFile, 'TLS_CERT_FILE');
  const key = read(tls.keyFile, 'TLS_KEY_FILE');
  const ca = read(tls.caFile, 'TLS_CA_FILE');
  const crl = read(tls.crlFile, 'TLS_CRL_FILE');
  return {
    options: { cert, key, ...(ca && { ca }), ...(crl && { crl }), minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' },
    ownDigest: digest(cert, key),
    trustDigest: digest(ca, crl),
  };
}

/**
 * Server options: TLS 1.2+ (1.3 preferred by negotiation), client certificates requested when client
 * authentication is on. Unverified certificates are not refused in the handshake: the guard refuses them
 * with a JSON 401 and an audit row naming the reason (expired, unknown CA, revoked) instead of a reset.
 */
export function httpsServerOptions(tls: TlsConfig, material: TlsMaterial): TlsOptions {
  return {
    ...material.options,
    requestCert: tls.clientAuth !== 'off',
    rejectUnauthorized: false,
    honorCipherOrder: true,
  };
}
