import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Why a signed request was refused:
 * - `missing-headers`: a required header is absent or empty, or `webhook-id` is not a message id
 *   (`isWebhookId`). The strategy answers an unusable id with 400 before it gets here; verifying
 *   still refuses one so that no caller of this function can sign or accept an ambiguous id.
 * - `malformed-timestamp`: the timestamp is not a plain integer count of seconds (digits only, no leading zero).
 * - `timestamp-too-old` / `timestamp-in-future`: more than the tolerance away from now.
 * - `malformed-signature`: the signature header holds no entry this scheme can check
 *   (wrong prefix, bad hex/base64, or, for Standard Webhooks, no well-formed `v1,` entry).
 * - `signature-mismatch`: well-formed, but no configured secret produced it (a decoded
 *   signature of the wrong length lands here too).
 */
export type HmacFailureReason =
  | 'missing-headers'
  | 'malformed-timestamp'
  | 'timestamp-too-old'
  | 'timestamp-in-future'
  | 'malformed-signature'
  | 'signature-mismatch';

/** Values of the `webhook-id`, `webhook-timestamp` and `webhook-signature` headers. */
export interface StandardWebhookHeaders {
  id?: string;
  timestamp?: string;
  signature?: string;
}

export const DEFAULT_TOLERANCE_SECONDS = 300;

const SECRET_PREFIX = 'whsec_';
const SIGNATURE_VERSION = 'v1';
/** Longest `webhook-id` accepted (Svix-style `msg_…` ids and UUIDs are far shorter). */
export const WEBHOOK_ID_MAX_LENGTH = 255;
/**
 * HTTP token characters (RFC 9110 `tchar`) without `.`: the id is signed as `{id}.{timestamp}.{body}`, and
 * the specification asks that it never contain a full stop, so one signature cannot be re-split into another.
 */
const WEBHOOK_ID = new RegExp(`^[A-Za-z0-9!#$%&'*+\\-^_\`|~]{1,${WEBHOOK_ID_MAX_LENGTH}}$`);
/** Secret sizes the specification allows (192 to 512 bits), after base64 decoding. */
export const STANDARD_WEBHOOK_SECRET_MIN_BYTES = 24;
export const STANDARD_WEBHOOK_SECRET_MAX_BYTES = 64;
// At most 15 digits keeps the value a safe integer (and rules out signs, decimals, exponents, spaces).
// No leading zero: `0123` and `123` would be one number signed as two different strings.
const INTEGER_SECONDS = /^(?:0|[1-9][0-9]{0,14})$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Whether `value` may be a `webhook-id`: 1 to 255 token characters, no `.`. */
export function isWebhookId(value: string): boolean {
  return WEBHOOK_ID.test(value);
}

/**
 * Strict standard base64 (RFC 4648 §4, padded). Node's own decoder silently skips invalid
 * characters, which would turn garbage into "some bytes"; this returns undefined instead.
 * @internal shared with header-signature.ts
 */
export function decodeBase64Strict(value: string): Buffer | undefined {
  if (value.length % 4 !== 0 || !BASE64.test(value)) return undefined;
  return Buffer.from(value, 'base64');
}

/**
 * Parses an integer-seconds timestamp header and checks it lies within ±tolerance of now
 * (a difference of exactly `toleranceSeconds` still passes).
 * @internal shared with header-signature.ts
 */
export function checkTimestamp(
  value: string,
  nowSeconds: number,
  toleranceSeconds: number,
): { ok: true; timestamp: number } | { ok: false; reason: HmacFailureReason } {
  if (!Number.isFinite(nowSeconds)) throw new RangeError('nowSeconds must be a finite number');
  if (!Number.isFinite(toleranceSeconds) || toleranceSeconds < 0) {
    throw new RangeError('toleranceSeconds must be a finite, non-negative number');
  }
  if (!INTEGER_SECONDS.test(value)) return { ok: false, reason: 'malformed-timestamp' };
  const timestamp = Number(value);
  if (nowSeconds - timestamp > toleranceSeconds) return { ok: false, reason: 'timestamp-too-old' };
  if (timestamp - nowSeconds > toleranceSeconds) return { ok: false, reason: 'timestamp-in-future' };
  return { ok: true, timestamp };
}

function hmacSha256(secret: Buffer, webhookId: string, timestamp: string, rawBody: Buffer): Buffer {
  // The body goes in as the bytes received: decoding to a string first would alter invalid UTF-8.
  return createHmac('sha256', secret).update(`${webhookId}.${timestamp}.`, 'utf8').update(rawBody).digest();
}

/**
 * Decodes a Standard Webhooks secret (`whsec_` + base64 of the key bytes; a bare base64
 * string is accepted too) into the HMAC key. Throws a TypeError for an empty or invalid secret.
 */
export function decodeStandardWebhookSecret(secret: string): Buffer {
  if (typeof secret !== 'string') throw new TypeError('Standard Webhooks secret must be a string');
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (encoded === '') throw new TypeError('Standard Webhooks secret is empty');
  const key = decodeBase64Strict(encoded);
  // The secret itself is never echoed: this message may end up in logs.
  if (!key) throw new TypeError(`Standard Webhooks secret must be "${SECRET_PREFIX}" followed by padded base64`);
  return key;
}

/** Signs a payload the Standard Webhooks way; returns the `v1,<base64>` header entry. */
export function signStandardWebhook(input: {
  webhookId: string;
  timestampSeconds: number;
  rawBody: Buffer;
  secret: Buffer;
}): string {
  const { webhookId, timestampSeconds, rawBody, secret } = input;
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new TypeError('timestampSeconds must be a non-negative integer');
  }
  if (secret.length === 0) throw new TypeError('secret must not be empty');
  const digest = hmacSha256(secret, webhookId, String(timestampSeconds), rawBody);
  return `${SIGNATURE_VERSION},${digest.toString('base64')}`;
}

/**
 * Verifies a Standard Webhooks request: passes when any `v1` signature in the header was made
 * by any of `secrets` (several during a rotation) over `${id}.${timestamp}.${rawBody}`, and the
 * timestamp is within `toleranceSeconds` (default 300) of `nowSeconds`. Other signature versions
 * (e.g. asymmetric `v1a`) are skipped. An empty `secrets` list fails closed with a mismatch.
 */
export function verifyStandardWebhook(input: {
  headers: StandardWebhookHeaders;
  rawBody: Buffer;
  secrets: readonly Buffer[];
  nowSeconds: number;
  toleranceSeconds?: number;
}): { ok: true; webhookId: string; timestamp: number } | { ok: false; reason: HmacFailureReason } {
  const { headers, rawBody, secrets, nowSeconds, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS } = input;
  const { id, timestamp: timestampHeader, signature } = headers;
  if (!id || !timestampHeader || !signature) return { ok: false, reason: 'missing-headers' };
  if (!isWebhookId(id)) return { ok: false, reason: 'missing-headers' };

  const time = checkTimestamp(timestampHeader, nowSeconds, toleranceSeconds);
  if (!time.ok) return time;

  const candidates: Buffer[] = [];
  for (const entry of signature.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== SIGNATURE_VERSION) continue;
    const decoded = decodeBase64Strict(entry.slice(comma + 1));
    if (decoded) candidates.push(decoded);
  }
  if (candidates.length === 0) return { ok: false, reason: 'malformed-signature' };

  for (const secret of secrets) {
    // Signed over the canonical integer, as the reference libraries do, not the header's spelling.
    const expected = hmacSha256(secret, id, String(time.timestamp), rawBody);
    for (const candidate of candidates) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) {
        return { ok: true, webhookId: id, timestamp: time.timestamp };
      }
    }
  }
  return { ok: false, reason: 'signature-mismatch' };
}
