import { randomBytes } from 'node:crypto';
import {
  decodeStandardWebhookSecret,
  isWebhookId,
  signStandardWebhook,
  type StandardWebhookHeaders,
  verifyStandardWebhook,
} from './standard-webhooks';

// Official test vector from the Standard Webhooks reference libraries.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const SECRET = decodeStandardWebhookSecret(VECTOR.secret);
const BODY = Buffer.from(VECTOR.payload, 'utf8');
const NOW = VECTOR.timestamp;

function headers(overrides: Partial<StandardWebhookHeaders> = {}): StandardWebhookHeaders {
  return { id: VECTOR.id, timestamp: String(VECTOR.timestamp), signature: VECTOR.signature, ...overrides };
}

function verify(
  overrides: Partial<StandardWebhookHeaders> = {},
  options: { rawBody?: Buffer; secrets?: readonly Buffer[]; nowSeconds?: number; toleranceSeconds?: number } = {},
) {
  return verifyStandardWebhook({
    headers: headers(overrides),
    rawBody: options.rawBody ?? BODY,
    secrets: options.secrets ?? [SECRET],
    nowSeconds: options.nowSeconds ?? NOW,
    toleranceSeconds: options.toleranceSeconds,
  });
}

/** A fresh signature for `timestamp`, so timestamp-window tests are not failing on the signature. */
function signedAt(timestamp: number, secret: Buffer = SECRET): Partial<StandardWebhookHeaders> {
  return {
    timestamp: String(timestamp),
    signature: signStandardWebhook({ webhookId: VECTOR.id, timestampSeconds: timestamp, rawBody: BODY, secret }),
  };
}

describe('signStandardWebhook', () => {
  it('reproduces the official test vector', () => {
    expect(
      signStandardWebhook({ webhookId: VECTOR.id, timestampSeconds: VECTOR.timestamp, rawBody: BODY, secret: SECRET }),
    ).toBe(VECTOR.signature);
  });

  it('rejects a non-integer timestamp and an empty secret', () => {
    const base = { webhookId: VECTOR.id, rawBody: BODY, secret: SECRET };
    expect(() => signStandardWebhook({ ...base, timestampSeconds: 1.5 })).toThrow(TypeError);
    expect(() => signStandardWebhook({ ...base, timestampSeconds: -1 })).toThrow(TypeError);
    expect(() => signStandardWebhook({ ...base, timestampSeconds: NOW, secret: Buffer.alloc(0) })).toThrow(TypeError);
  });
});

describe('decodeStandardWebhookSecret', () => {
  it('decodes whsec_-prefixed and bare base64 secrets to the same key', () => {
    expect(SECRET).toHaveLength(24);
    expect(decodeStandardWebhookSecret(VECTOR.secret.slice('whsec_'.length))).toEqual(SECRET);
  });

  it.each([
    ['empty', ''],
    ['prefix only', 'whsec_'],
    ['not base64', 'whsec_not base64!'],
    ['unpadded', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS'],
  ])('throws a TypeError for an %s secret without echoing it', (_label, secret) => {
    let thrown: unknown;
    try {
      decodeStandardWebhookSecret(secret);
    } catch (error: unknown) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    const { message } = thrown as TypeError;
    expect(message).toMatch(/Standard Webhooks secret/);
    if (secret.length > 'whsec_'.length) expect(message).not.toContain(secret.slice('whsec_'.length));
  });
});

describe('verifyStandardWebhook', () => {
  it('accepts the official test vector and returns the id and timestamp', () => {
    expect(verify()).toEqual({ ok: true, webhookId: VECTOR.id, timestamp: VECTOR.timestamp });
  });

  it('accepts one valid signature among invalid ones and ignores unknown versions', () => {
    const bogus = 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';
    const signature = [
      bogus,
      'v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
      'v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==',
      'v1,not*base64',
      VECTOR.signature,
      bogus,
    ].join(' ');
    expect(verify({ signature })).toMatchObject({ ok: true });
  });

  it('does not treat a valid signature under an unknown version as v1', () => {
    const signature = VECTOR.signature.replace('v1,', 'v1a,');
    expect(verify({ signature })).toEqual({ ok: false, reason: 'malformed-signature' });
  });

  it('accepts a signature made with the second of two rotated secrets', () => {
    const next = randomBytes(32);
    expect(verify(signedAt(NOW, next), { secrets: [SECRET, next] })).toMatchObject({ ok: true });
    expect(verify({}, { secrets: [next, SECRET] })).toMatchObject({ ok: true });
  });

  it('accepts a header carrying the old and new signatures during a rotation', () => {
    const next = randomBytes(32);
    const signature = `${signedAt(NOW, next).signature} ${VECTOR.signature}`;
    expect(verify({ signature }, { secrets: [next] })).toMatchObject({ ok: true });
  });

  it('rejects a signature made with another secret', () => {
    expect(verify({}, { secrets: [randomBytes(24)] })).toEqual({ ok: false, reason: 'signature-mismatch' });
  });

  it('fails closed when no secrets are configured', () => {
    expect(verify({}, { secrets: [] })).toEqual({ ok: false, reason: 'signature-mismatch' });
  });

  it('rejects a body with one byte changed', () => {
    const tampered = Buffer.from(BODY);
    tampered[tampered.length - 2] ^= 0x01;
    expect(verify({}, { rawBody: tampered })).toEqual({ ok: false, reason: 'signature-mismatch' });
  });

  it('rejects a body that was parsed and re-serialised', () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(VECTOR.payload)), 'utf8');
    expect(reserialised.equals(BODY)).toBe(false);
    expect(verify({}, { rawBody: reserialised })).toEqual({ ok: false, reason: 'signature-mismatch' });
  });

  it('verifies the body as raw bytes, including bytes that are not valid UTF-8', () => {
    const rawBody = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const signature = signStandardWebhook({ webhookId: VECTOR.id, timestampSeconds: NOW, rawBody, secret: SECRET });
    expect(verify({ signature }, { rawBody })).toMatchObject({ ok: true });
    const lossy = Buffer.from(rawBody.toString('utf8'), 'utf8');
    expect(verify({ signature }, { rawBody: lossy })).toEqual({ ok: false, reason: 'signature-mismatch' });
  });

  it('rejects a signature replayed under another id or timestamp', () => {
    expect(verify({ id: 'msg_other' })).toEqual({ ok: false, reason: 'signature-mismatch' });
    expect(verify({ timestamp: String(NOW + 1) })).toEqual({ ok: false, reason: 'signature-mismatch' });
  });

  describe('timestamp window (default 300 s)', () => {
    it('accepts a timestamp exactly 300 s old or 300 s ahead', () => {
      expect(verify(signedAt(NOW - 300))).toMatchObject({ ok: true });
      expect(verify(signedAt(NOW + 300))).toMatchObject({ ok: true });
    });

    it('rejects a timestamp 301 s old as too old', () => {
      expect(verify(signedAt(NOW - 301))).toEqual({ ok: false, reason: 'timestamp-too-old' });
    });

    it('rejects a timestamp 301 s ahead as in the future', () => {
      expect(verify(signedAt(NOW + 301))).toEqual({ ok: false, reason: 'timestamp-in-future' });
    });

    it('honours a custom tolerance', () => {
      expect(verify(signedAt(NOW - 60), { toleranceSeconds: 60 })).toMatchObject({ ok: true });
      expect(verify(signedAt(NOW - 61), { toleranceSeconds: 60 })).toEqual({ ok: false, reason: 'timestamp-too-old' });
    });

    it('throws on a nonsensical tolerance or clock (programming errors, not request errors)', () => {
      expect(() => verify({}, { toleranceSeconds: -1 })).toThrow(RangeError);
      expect(() => verify({}, { nowSeconds: Number.NaN })).toThrow(RangeError);
    });
  });

  it.each([
    ['id', { id: undefined }],
    ['timestamp', { timestamp: undefined }],
    ['signature', { signature: undefined }],
    ['empty id', { id: '' }],
    ['empty timestamp', { timestamp: '' }],
    ['empty signature', { signature: '' }],
  ])('reports missing-headers for a missing %s', (_label, overrides: Partial<StandardWebhookHeaders>) => {
    expect(verify(overrides)).toEqual({ ok: false, reason: 'missing-headers' });
  });

  it.each([
    ['too long', 'm'.repeat(256)],
    ['containing a space', 'msg 1'],
    ['containing a full stop (it would make the signed content ambiguous)', 'msg.1'],
    ['containing a control character', 'msg\u00001'],
    ['containing non-ASCII', 'msg_é'],
    ['containing a quote', 'msg"1'],
  ])('reports missing-headers for an unusable id (%s)', (_label, id) => {
    expect(isWebhookId(id)).toBe(false);
    expect(verify({ id })).toEqual({ ok: false, reason: 'missing-headers' });
  });

  it.each(['msg_p5jXN8AQM9LWM0D4loKWxJek', '8e03978e-40d5-43e8-bc93-6894a57f9324', "a!#$%&'*+-^_`|~z"])(
    'takes %j as a message id',
    (id) => {
      expect(isWebhookId(id)).toBe(true);
    },
  );

  it('accepts an id of exactly 255 token characters', () => {
    const id = 'm'.repeat(255);
    const signature = signStandardWebhook({ webhookId: id, timestampSeconds: NOW, rawBody: BODY, secret: SECRET });
    expect(verify({ id, signature })).toMatchObject({ ok: true, webhookId: id });
  });

  it.each([
    'soon',
    '1614265330.5',
    '-1614265330',
    '+1614265330',
    '1e9',
    ' 1614265330',
    '0x60371e72',
    '1'.repeat(16),
    // A leading zero: the same number as the signed "1614265330", but another string.
    '01614265330',
  ])('reports malformed-timestamp for %j', (timestamp) => {
    expect(verify({ timestamp })).toEqual({ ok: false, reason: 'malformed-timestamp' });
  });

  it.each([
    ['garbage base64', 'v1,dawfeoifkpqwoekfpqoekf*!'],
    ['an empty v1 signature', 'v1,'],
    ['no version', 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='],
    ['only unknown versions', 'v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='],
    ['only whitespace', '   '],
  ])('reports malformed-signature for %s', (_label, signature) => {
    expect(verify({ signature })).toEqual({ ok: false, reason: 'malformed-signature' });
  });

  it.each([
    ['truncated', 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJE'],
    [
      'too long',
      `v1,${Buffer.concat([Buffer.from(VECTOR.signature.slice(3), 'base64'), Buffer.from([0])]).toString('base64')}`,
    ],
    ['a single byte', 'v1,AA=='],
  ])('reports a %s signature as a mismatch without throwing', (_label, signature) => {
    expect(verify({ signature })).toEqual({ ok: false, reason: 'signature-mismatch' });
  });
});
