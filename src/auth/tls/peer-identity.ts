import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { AuthFailureReason, ConnectionSecurity } from '../auth-attempt';
import type { PeerIdentity } from '../callers/caller-registry';

/** Splits Node's `subjectaltname` ("DNS:a, URI:spiffe://x, IP Address:1.2.3.4") into DNS and URI names. */
export function parseSubjectAltName(value: string | undefined): { dnsSANs: string[]; uriSANs: string[] } {
  const dnsSANs: string[] = [];
  const uriSANs: string[] = [];
  for (const entry of (value ?? '').split(/,\s*/)) {
    if (entry.startsWith('DNS:')) dnsSANs.push(entry.slice(4));
    else if (entry.startsWith('URI:')) uriSANs.push(entry.slice(4));
  }
  return { dnsSANs, uriSANs };
}

/** When a certificate expires (its `valid_to`), in ms since the epoch; undefined when it does not say. */
export function validUntil(certificate: Pick<PeerCertificate, 'valid_to'>): number | undefined {
  const time = Date.parse(certificate.valid_to);
  return Number.isFinite(time) ? time : undefined;
}

export function peerIdentity(certificate: PeerCertificate): PeerIdentity {
  const cn = certificate.subject?.CN;
  return { subjectCN: Array.isArray(cn) ? cn[0] : cn, ...parseSubjectAltName(certificate.subjectaltname) };
}

/** What the TLS handshake proved about the client, read from the request's socket. */
export function connectionSecurity(socket: unknown): ConnectionSecurity {
  const tls = socket as Partial<TLSSocket>;
  if (!tls.encrypted || typeof tls.getPeerCertificate !== 'function') {
    return { encrypted: false, clientCertificateVerified: false };
  }
  const certificate = tls.getPeerCertificate();
  const presented = certificate !== null && Object.keys(certificate).length > 0;
  if (!presented) return { encrypted: true, clientCertificateVerified: false };
  const error = tls.authorizationError ? String(tls.authorizationError) : undefined;
  return {
    encrypted: true,
    clientCertificateVerified: tls.authorized === true,
    ...(error && { clientCertificateError: error }),
    peer: peerIdentity(certificate),
    ...withValidUntil(certificate),
  };
}

/** `certificateValidUntil` of a certificate, when it says. */
export function withValidUntil(certificate: PeerCertificate): Pick<ConnectionSecurity, 'certificateValidUntil'> {
  const until = validUntil(certificate);
  return until === undefined ? {} : { certificateValidUntil: until };
}

/** Maps OpenSSL verification codes to our audit reasons (expired, unknown CA, revoked, …). */
export function certificateFailureReason(code: string | undefined): AuthFailureReason {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return 'certificate-expired';
    case 'CERT_REVOKED':
      return 'certificate-revoked';
    // The CRL in force is past its nextUpdate: no certificate of its CA can be checked for revocation.
    case 'CRL_HAS_EXPIRED':
      return 'crl-expired';
    // The CRL in force begins after this host's clock (its thisUpdate): the CA's clock or this host's is off.
    case 'CRL_NOT_YET_VALID':
      return 'crl-not-yet-valid';
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'CERT_UNTRUSTED':
      return 'certificate-untrusted';
    default:
      return 'certificate-invalid';
  }
}
