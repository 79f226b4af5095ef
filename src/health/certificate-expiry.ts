import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type CertificateCheck =
  | { readonly ok: true; readonly expiresAt: string; readonly daysLeft: number }
  | { readonly ok: false; readonly reason: string; readonly expiresAt?: string; readonly daysLeft?: number };

const DAY_MS = 86_400_000;

/** Reads the serving certificate (the first in the chain file) and checks it is valid for `minDays` more. */
export function checkCertificateExpiry(certFile: string, minDays: number, now = Date.now()): CertificateCheck {
  let text: Buffer;
  try {
    text = readFileSync(certFile);
  } catch (error: unknown) {
    return { ok: false, reason: `cannot read the certificate (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(text);
  } catch {
    return { ok: false, reason: 'the certificate cannot be parsed' };
  }
  const expires = new Date(certificate.validTo).getTime();
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
  try {
    return new Date(new X509Certificate(readFileSync(certFile)).validTo).getTime();
  } catch {
    return undefined;
  }
}
