import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  checkTimestamp,
  decodeBase64Strict,
  DEFAULT_TOLERANCE_SECONDS,
  type HmacFailureReason,
} from './standard-webhooks';

/** A provider's single-header HMAC scheme, e.g. GitHub's `x-hub-signature-256: sha256=<hex>`. */
export interface HeaderSignatureScheme {
  /** Lower-case name of the header carrying the signature. */
  header: string;
  algorithm: 'sha256' | 'sha512';
  encoding: 'hex' | 'base64';
  /** Text before the encoded digest, e.g. `sha256=`, or `''` for none. Matched case-sensitively. */
  prefix: string;
  /** When set, the signed content is `${timestamp}.${rawBody}` and the timestamp must be within tolerance. */
  timestampHeader?: string;
}

const HEX = /^[0-9a-fA-F]+$/;

function decodeDigest(encoded: string, encoding: HeaderSignatureScheme['encoding']): Buffer | undefined {
  if (encoding === 'base64') return decodeBase64Strict(encoded);
  // Buffer.from(..., 'hex') stops at the first bad pair instead of failing, hence the check.
  return encoded.length % 2 === 0 && HEX.test(encoded) ? Buffer.from(encoded, 'hex') : undefined;
}

function digest(scheme: HeaderSignatureScheme, secret: Buffer, timestamp: string | undefined, rawBody: Buffer): Buffer {
  const hmac = createHmac(scheme.algorithm, secret);
  if (timestamp !== undefined) hmac.update(`${timestamp}.`, 'utf8');
  return hmac.update(rawBody).digest();
}

/**
 * Signs `rawBody` under `scheme` and returns the signature header's value (prefix included).
 * `timestampSeconds` is required when the scheme has a timestamp header; send it as that header.
 */
export function signHeaderSignature(input: {
  scheme: HeaderSignatureScheme;
  rawBody: Buffer;
  secret: Buffer;
  timestampSeconds?: number;
}): string {
  const { scheme, rawBody, secret, timestampSeconds } = input;
  if (secret.length === 0) throw new TypeError('secret must not be empty');
  let timestamp: string | undefined;
  if (scheme.timestampHeader !== undefined) {
    if (timestampSeconds === undefined || !Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
      throw new TypeError(`scheme signs a timestamp: timestampSeconds must be a non-negative integer`);
    }
    timestamp = String(timestampSeconds);
  }
  return scheme.prefix + digest(scheme, secret, timestamp, rawBody).toString(scheme.encoding);
}

/**
 * Verifies a single-header signature: passes when `headerValue` is `scheme.prefix` followed by the
 * encoded HMAC of the body (preceded by `${timestamp}.` for timestamped schemes) under any of
 * `secrets`. Hex is accepted in either case. An empty `secrets` list fails closed with a mismatch.
 */
export function verifyHeaderSignature(input: {
  scheme: HeaderSignatureScheme;
  headerValue?: string;
  timestampValue?: string;
  rawBody: Buffer;
  secrets: readonly Buffer[];
  nowSeconds: number;
  toleranceSeconds?: number;
}): { ok: true } | { ok: false; reason: HmacFailureReason } {
  const { scheme, headerValue, timestampValue, rawBody, secrets, nowSeconds } = input;
  const toleranceSeconds = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const timestamped = scheme.timestampHeader !== undefined;
  if (!headerValue || (timestamped && !timestampValue)) return { ok: false, reason: 'missing-headers' };

  // Syntax first (both headers), then the window, then the digest: a malformed header is reported as such even
  // when the other one is also wrong, so that the caller can tell a bad request from bad credentials.
  let timestamp: string | undefined;
  let outOfWindow: HmacFailureReason | undefined;
  if (timestamped) {
    const time = checkTimestamp(timestampValue ?? '', nowSeconds, toleranceSeconds);
    if (!time.ok && time.reason === 'malformed-timestamp') return time;
    if (time.ok) timestamp = String(time.timestamp);
    else outOfWindow = time.reason;
  }

  if (!headerValue.startsWith(scheme.prefix)) return { ok: false, reason: 'malformed-signature' };
  const candidate = decodeDigest(headerValue.slice(scheme.prefix.length), scheme.encoding);
  if (!candidate) return { ok: false, reason: 'malformed-signature' };
  if (outOfWindow) return { ok: false, reason: outOfWindow };

  for (const secret of secrets) {
    const expected = digest(scheme, secret, timestamp, rawBody);
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return { ok: true };
  }
  return { ok: false, reason: 'signature-mismatch' };
}
