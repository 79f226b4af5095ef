import { type KeyObject, verify } from 'node:crypto';

/** One DER element: where its contents start and end in the buffer, and where the element itself ends. */
interface Element {
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

function element(der: Buffer, offset: number): Element {
  if (offset + 2 > der.length) throw new Error('truncated');
  const tag = der[offset];
  let length = der[offset + 1];
  let contentStart = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || contentStart + bytes > der.length) throw new Error('bad length');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[contentStart + i];
    contentStart += bytes;
  }
  const end = contentStart + length;
  if (end > der.length) throw new Error('truncated');
  return { tag, start: offset, contentStart, end };
}

const SEQUENCE = 0x30;
const OBJECT_IDENTIFIER = 0x06;
const BIT_STRING = 0x03;

function oid(bytes: Buffer): string {
  const parts = [Math.floor(bytes[0] / 40), bytes[0] % 40];
  let value = 0;
  for (const byte of bytes.subarray(1)) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

/** Signature algorithms of X.509 CRLs that node:crypto verifies: OID → digest (null: the key decides). */
const ALGORITHMS: Readonly<Record<string, string | null>> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null,
  '1.3.101.113': null,
};

/** The signed part, algorithm and signature of a DER CRL (RFC 5280 §5.1); throws when it is not one. */
function parseCrl(der: Buffer): { signed: Buffer; algorithm: string; signature: Buffer } {
  const outer = element(der, 0);
  if (outer.tag !== SEQUENCE || outer.end !== der.length) throw new Error('not a CRL');
  const tbs = element(der, outer.contentStart);
  const algorithmId = element(der, tbs.end);
  const signature = element(der, algorithmId.end);
  if (tbs.tag !== SEQUENCE || algorithmId.tag !== SEQUENCE || signature.tag !== BIT_STRING) {
    throw new Error('not a CRL');
  }
  if (signature.end !== outer.end) throw new Error('trailing data');
  const algorithm = element(der, algorithmId.contentStart);
  if (algorithm.tag !== OBJECT_IDENTIFIER) throw new Error('not a CRL');
  // A BIT STRING's first content byte counts unused bits: 0 for a signature.
  if (der[signature.contentStart] !== 0) throw new Error('bad signature encoding');
  return {
    signed: der.subarray(tbs.start, tbs.end),
    algorithm: oid(der.subarray(algorithm.contentStart, algorithm.end)),
    signature: der.subarray(signature.contentStart + 1, signature.end),
  };
}

/**
 * Whether one of `issuers` signed this CRL (PEM). node:tls applies any CRL it can parse, so a CRL whose signature
 * was damaged, or one from a CA we do not trust, would be applied as given; this is the check it does not make.
 * Returns the problem, or undefined when a key verifies the signature.
 */
export function crlSignatureProblem(pem: string, issuers: readonly KeyObject[]): string | undefined {
  const base64 = pem.replace(/-----(BEGIN|END) X509 CRL-----/g, '').replace(/\s+/g, '');
  let crl: ReturnType<typeof parseCrl>;
  try {
    crl = parseCrl(Buffer.from(base64, 'base64'));
  } catch (error: unknown) {
    return `is not a DER CRL (${error instanceof Error ? error.message : String(error)})`;
  }
  const digest = ALGORITHMS[crl.algorithm];
  if (digest === undefined) return `is signed with an algorithm this service cannot check (${crl.algorithm})`;
  const verified = issuers.some((key) => {
    try {
      return verify(digest, crl.signed, key, crl.signature);
    } catch {
      return false;
    }
  });
  return verified ? undefined : 'is not signed by a certificate of TLS_CA_FILE (damaged, or another CA’s)';
}
