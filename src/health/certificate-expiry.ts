import { readFileSync } from 'node:fs';
import { type NotAfter, notAfterOf } from '../observability/served-certificate';

export type CertificateCheck =
  | { readonly ok: true; readonly expiresAt: string; readonly daysLeft: number }
  | { readonly ok: false; readonly reason: string; readonly expiresAt?: string; readonly daysLeft?: number };

const DAY_MS = 86_400_000;

/** A certificate file's notAfter (epoch milliseconds; the first in the chain), or why it is unknown. */
export function fileNotAfter(certFile: string): NotAfter {
  let text: Buffer;
  try {
    text = readFileSync(certFile);
  } catch (error: unknown) {
    return { reason: `cannot read the certificate (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  return notAfterOf(text);
}

/** Checks a certificate (its notAfter, or a file to read it from) is valid for `minDays` more. */
export function checkCertificateExpiry(
  certificate: string | NotAfter,
  minDays: number,
  now = Date.now(),
): CertificateCheck {
  const read = typeof certificate === 'string' ? fileNotAfter(certificate) : certificate;
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
