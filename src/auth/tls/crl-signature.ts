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
const INTEGER = 0x02;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

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

/** An X.509 Time (RFC 5280 §4.1.2.5: UTCTime YYMMDDHHMMSSZ, 50-99 being 19xx; GeneralizedTime YYYYMMDDHHMMSSZ). */
function time(der: Buffer, at: Element): number {
  const text = der.toString('latin1', at.contentStart, at.end);
  const digits = at.tag === UTC_TIME ? /^(\d{2})(\d{10})Z$/.exec(text) : /^(\d{4})(\d{10})Z$/.exec(text);
  if (!digits) throw new Error('bad time');
  let year = Number(digits[1]);
  if (at.tag === UTC_TIME) year += year >= 50 ? 1900 : 2000;
  const [month, day, hour, minute, second] = (digits[2].match(/\d{2}/g) ?? []).map(Number);
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

/** thisUpdate and (when present) nextUpdate of a DER CRL, RFC 5280 §5.1.2.4-5; throws when it is not one. */
function crlDates(der: Buffer): { thisUpdate: number; nextUpdate?: number } {
  const tbs = element(der, element(der, 0).contentStart);
  let field = element(der, tbs.contentStart);
  if (field.tag === INTEGER) field = element(der, field.end); // version (v2)
  const issuer = element(der, field.end); // after the signature algorithm
  if (field.tag !== SEQUENCE || issuer.tag !== SEQUENCE) throw new Error('not a CRL');
  const thisUpdate = element(der, issuer.end);
  if (thisUpdate.tag !== UTC_TIME && thisUpdate.tag !== GENERALIZED_TIME) throw new Error('not a CRL');
  const dates = { thisUpdate: time(der, thisUpdate) };
  if (thisUpdate.end >= tbs.end) return dates;
  const next = element(der, thisUpdate.end);
  return next.tag === UTC_TIME || next.tag === GENERALIZED_TIME ? { ...dates, nextUpdate: time(der, next) } : dates;
}

function derOf(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END) X509 CRL-----/g, '').replace(/\s+/g, ''), 'base64');
}

/**
 * When this CRL (PEM) is usable, in ms since the epoch: from its thisUpdate (before it OpenSSL refuses every
 * certificate the CRL's CA issued, CRL_NOT_YET_VALID: a CA whose clock runs ahead of this host's publishes CRLs that
 * lock its certificates out until this host's clock catches up) until its nextUpdate, when it names one (from then on
 * OpenSSL refuses them with CRL_HAS_EXPIRED, so an expired CRL locks out every client certificate under that CA).
 * Throws on a CRL that does not parse.
 */
export function crlValidity(pem: string): { thisUpdate: number; nextUpdate?: number } {
  return crlDates(derOf(pem));
}

/**
 * Which of `issuers` signed this CRL (PEM): its index, or the problem when none did. node:tls applies any CRL it can
 * parse, so a CRL whose signature was damaged, or one from a CA we do not trust, would be applied as given; this is
 * the check it does not make.
 */
export function crlSigner(pem: string, issuers: readonly KeyObject[]): number | string {
  let crl: ReturnType<typeof parseCrl>;
  try {
    crl = parseCrl(derOf(pem));
  } catch (error: unknown) {
    return `is not a DER CRL (${error instanceof Error ? error.message : String(error)})`;
  }
  const digest = ALGORITHMS[crl.algorithm];
  if (digest === undefined) return `is signed with an algorithm this service cannot check (${crl.algorithm})`;
  const signer = issuers.findIndex((key) => {
    try {
      return verify(digest, crl.signed, key, crl.signature);
    } catch {
      return false;
    }
  });
  return signer >= 0 ? signer : 'is not signed by a certificate of TLS_CA_FILE (damaged, or another CA’s)';
}

/** Whether one of `issuers` signed this CRL (PEM): the problem, or undefined when a key verifies the signature. */
export function crlSignatureProblem(pem: string, issuers: readonly KeyObject[]): string | undefined {
  const signer = crlSigner(pem, issuers);
  return typeof signer === 'string' ? signer : undefined;
}
