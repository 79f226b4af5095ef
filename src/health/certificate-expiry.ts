import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type CertificateCheck =
  | { readonly ok: true; readonly expiresAt: string; readonly daysLeft: number }
  | { readonly ok: false; readonly reason: string; readonly expiresAt?: string; readonly daysLeft?: number };

const DAY_MS = 86_400_000;

/** The serving certificate's notAfter (epoch milliseconds; the first in the chain file), or why it is unknown. */
function readNotAfter(certFile: string): { readonly notAfter: number } | { readonly reason: string } {
  let text: Buffer;
  try {
    text = readFileSync(certFile);
  } catch (error: unknown) {
    return { reason: `cannot read the certificate (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  try {
    return { notAfter: new Date(new X509Certificate(text).validTo).getTime() };
  } catch {
    return { reason: 'the certificate cannot be parsed' };
  }
}

/** Reads the serving certificate and checks it is valid for `minDays` more. */
export function checkCertificateExpiry(certFile: string, minDays: number, now = Date.now()): CertificateCheck {
  const read = readNotAfter(certFile);
  if ('reason' in read) return { ok: false, reason: read.reason };
  const expires = read.notAfter;
  const daysLeft = Math.floor((expires - now) / DAY_MS);
  const expiresAt = new Date(expires).toISOString();
  if (expires <= now) return { ok: false, reason: 'the certificate has expired', expiresAt, daysLeft };
  if (daysLeft < minDays) {
    return { ok: false, reason: `the certificate expires within ${minDays} days`, expiresAt, daysLeft };
  }
  return { ok: true, expiresAt, daysLeft };
}

/** The serving certificate's notAfter (epoch milliseconds), or undefined when it cannot be read or parsed. */
export function certificateNotAfter(certFile: string): number | undefined {
  const read = readNotAfter(certFile);
  return 'notAfter' in read ? read.notAfter : undefined;
}
