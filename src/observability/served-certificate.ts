import { Injectable } from '@nestjs/common';
import { X509Certificate } from 'node:crypto';

/** A certificate's notAfter (epoch milliseconds), or why it is not known. */
export type NotAfter = { readonly notAfter: number } | { readonly reason: string };

/** The notAfter of the first certificate of a PEM chain. */
export function notAfterOf(chain: string | Buffer): NotAfter {
  try {
    return { notAfter: new Date(new X509Certificate(chain).validTo).getTime() };
  } catch {
    return { reason: 'the certificate cannot be parsed' };
  }
}

/**
 * The server certificate the TLS listeners hold now, as the TLS reloader applied it. Readiness and the expiry
 * metric read this, not the file: files the reloader refused (a renewed certificate with a key that does not match,
 * a corrupt CA bundle beside it) are not what clients are served, and their dates would hide the one that expires.
 */
@Injectable()
export class ServedCertificate {
  private current?: NotAfter;

  serve(chain: string | Buffer): void {
    this.current = notAfterOf(chain);
  }

  /** Undefined until a listener has been given a certificate. */
  get notAfter(): NotAfter | undefined {
    return this.current;
  }
}
