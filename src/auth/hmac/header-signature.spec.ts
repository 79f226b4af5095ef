import { createHmac, randomBytes } from 'node:crypto';
import { type HeaderSignatureScheme, signHeaderSignature, verifyHeaderSignature } from './header-signature';

const GITHUB: HeaderSignatureScheme = {
  header: 'x-hub-signature-256',
  algorithm: 'sha256',
  encoding: 'hex',
  prefix: 'sha256=',
};
const BASE64_SHA512: HeaderSignatureScheme = {
  header: 'x-signature',
  algorithm: 'sha512',
  encoding: 'base64',
  prefix: '',
};
const TIMESTAMPED: HeaderSignatureScheme = {
  header: 'x-signature',
  algorithm: 'sha256',
  encoding: 'hex',
  prefix: 'v1=',
  timestampHeader: 'x-signature-timestamp',
};

// GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!".
const GITHUB_EXAMPLE = {
  secret: Buffer.from("It's a Secret to Everybody", 'utf8'),
  body: Buffer.from('Hello, World!', 'utf8'),
  header: 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
};

const SECRET = randomBytes(32);
const BODY = Buffer.from('{"queryResult": {"intent": {"displayName": "balance"}}}', 'utf8');
const NOW = 1_700_000_000;

type VerifyInput = Parameters<typeof verifyHeaderSignature>[0];

function verify(scheme: HeaderSignatureScheme, overrides: Partial<VerifyInput> = {}) {
  return verifyHeaderSignature({
    scheme,
    headerValue: signHeaderSignature({ scheme, rawBody: BODY, secret: SECRET, timestampSeconds: NOW }),
    timestampValue: scheme.timestampHeader ? String(NOW) : undefined,
    rawBody: BODY,
    secrets: [SECRET],
    nowSeconds: NOW,
    ...overrides,
  });
}

describe('signHeaderSignature', () => {
  it('reproduces GitHub’s documented X-Hub-Signature-256 example', () => {
    expect(signHeaderSignature({ scheme: GITHUB, rawBody: GITHUB_EXAMPLE.body, secret: GITHUB_EXAMPLE.secret })).toBe(
      GITHUB_EXAMPLE.header,
    );
  });

  it('encodes the digest as the scheme asks', () => {
    const expected = createHmac('sha512', SECRET).update(BODY).digest('base64');
    expect(signHeaderSignature({ scheme: BASE64_SHA512, rawBody: BODY, secret: SECRET })).toBe(expected);
  });

  it('signs `${timestamp}.${rawBody}` for a timestamped scheme', () => {
    const expected = createHmac('sha256', SECRET).update(`${NOW}.`).update(BODY).digest('hex');
    expect(signHeaderSignature({ scheme: TIMESTAMPED, rawBody: BODY, secret: SECRET, timestampSeconds: NOW })).toBe(
      `v1=${expected}`,
    );
  });

  it('requires an integer timestamp for a timestamped scheme, and a non-empty secret', () => {
    expect(() => signHeaderSignature({ scheme: TIMESTAMPED, rawBody: BODY, secret: SECRET })).toThrow(TypeError);
    expect(() =>
      signHeaderSignature({ scheme: TIMESTAMPED, rawBody: BODY, secret: SECRET, timestampSeconds: 1.5 }),
    ).toThrow(TypeError);
    expect(() => signHeaderSignature({ scheme: GITHUB, rawBody: BODY, secret: Buffer.alloc(0) })).toThrow(TypeError);
  });
});

describe('verifyHeaderSignature', () => {
  it('accepts GitHub’s documented example', () => {
    expect(
      verifyHeaderSignature({
        scheme: GITHUB,
        headerValue: GITHUB_EXAMPLE.header,
        rawBody: GITHUB_EXAMPLE.body,
        secrets: [GITHUB_EXAMPLE.secret],
        nowSeconds: NOW,
      }),
    ).toEqual({ ok: true });
  });

  it('accepts a hex signature in upper case', () => {
    const headerValue = `sha256=${GITHUB_EXAMPLE.header.slice('sha256='.length).toUpperCase()}`;
    expect(
      verifyHeaderSignature({
        scheme: GITHUB,
        headerValue,
        rawBody: GITHUB_EXAMPLE.body,
        secrets: [GITHUB_EXAMPLE.secret],
        nowSeconds: NOW,
      }),
    ).toEqual({ ok: true });
  });

  it.each([
    ['hex sha256 with prefix', GITHUB],
    ['base64 sha512 without prefix', BASE64_SHA512],
    ['hex sha256 with a timestamp', TIMESTAMPED],
  ])('round-trips %s', (_label, scheme) => {
    expect(verify(scheme)).toEqual({ ok: true });
  });

  it('accepts a signature made with the second of two rotated secrets', () => {
    expect(verify(GITHUB, { secrets: [randomBytes(32), SECRET] })).toEqual({ ok: true });
  });

  it('rejects a signature made with another secret, or when no secrets are configured', () => {
    expect(verify(GITHUB, { secrets: [randomBytes(32)] })).toEqual({ ok: false, reason: 'signature-mismatch' });
    expect(verify(GITHUB, { secrets: [] })).toEqual({ ok: false, reason: 'signature-mismatch' });
  });

  it('rejects a body with one byte changed, or parsed and re-serialised', () => {
    const tampered = Buffer.from(BODY);
    tampered[5] ^= 0x20;
    expect(verify(GITHUB, { rawBody: tampered })).toEqual({ ok: false, reason: 'signature-mismatch' });
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(BODY.toString('utf8'))), 'utf8');
    expect(reserialised.equals(BODY)).toBe(false);
    expect(verify(GITHUB, { rawBody: reserialised })).toEqual({ ok: false, reason: 'signature-mismatch' });
  });

  it('rejects a signature computed with the wrong algorithm', () => {
    const sha512Scheme: HeaderSignatureScheme = { ...GITHUB, algorithm: 'sha512' };
    const headerValue = signHeaderSignature({ scheme: sha512Scheme, rawBody: BODY, secret: SECRET });
    expect(verify(GITHUB, { headerValue })).toEqual({ ok: false, reason: 'signature-mismatch' });
    const sha256Value = signHeaderSignature({ scheme: GITHUB, rawBody: BODY, secret: SECRET });
    expect(verify(sha512Scheme, { headerValue: sha256Value })).toEqual({ ok: false, reason: 'signature-mismatch' });
  });

  it('rejects a signature encoded as base64 when the scheme expects hex', () => {
    const headerValue = `sha256=${createHmac('sha256', SECRET).update(BODY).digest('base64')}`;
    expect(verify(GITHUB, { headerValue })).toEqual({ ok: false, reason: 'malformed-signature' });
  });

  describe('prefix handling', () => {
    const hex = createHmac('sha256', SECRET).update(BODY).digest('hex');

    it('rejects a signature without the expected prefix as malformed', () => {
      expect(verify(GITHUB, { headerValue: hex })).toEqual({ ok: false, reason: 'malformed-signature' });
      expect(verify(GITHUB, { headerValue: `sha1=${hex}` })).toEqual({ ok: false, reason: 'malformed-signature' });
    });

    it('matches the prefix case-sensitively', () => {
      expect(verify(GITHUB, { headerValue: `SHA256=${hex}` })).toEqual({ ok: false, reason: 'malformed-signature' });
    });

    it('rejects a prefix with nothing after it as malformed', () => {
      expect(verify(GITHUB, { headerValue: 'sha256=' })).toEqual({ ok: false, reason: 'malformed-signature' });
    });

    it('does not accept a prefixed value for a scheme without a prefix', () => {
      const headerValue = `sha512=${signHeaderSignature({ scheme: BASE64_SHA512, rawBody: BODY, secret: SECRET })}`;
      expect(verify(BASE64_SHA512, { headerValue })).toEqual({ ok: false, reason: 'malformed-signature' });
    });
  });

  it.each([
    ['non-hex characters', 'sha256=zz71'],
    ['an odd number of hex digits', 'sha256=abc'],
    ['embedded whitespace', 'sha256=75 71'],
  ])('reports malformed-signature for hex with %s', (_label, headerValue) => {
    expect(verify(GITHUB, { headerValue })).toEqual({ ok: false, reason: 'malformed-signature' });
  });

  it.each([
    ['garbage', 'not*base64!'],
    ['missing padding', 'AAA'],
  ])('reports malformed-signature for base64 that is %s', (_label, headerValue) => {
    expect(verify(BASE64_SHA512, { headerValue })).toEqual({ ok: false, reason: 'malformed-signature' });
  });

  it.each([
    ['hex', GITHUB, 'sha256=abcd'],
    ['base64', BASE64_SHA512, 'AAAA'],
  ])('reports a %s signature of the wrong length as a mismatch without throwing', (_label, scheme, headerValue) => {
    expect(verify(scheme, { headerValue })).toEqual({ ok: false, reason: 'signature-mismatch' });
  });

  it('reports missing-headers for a missing or empty signature header', () => {
    expect(verify(GITHUB, { headerValue: undefined })).toEqual({ ok: false, reason: 'missing-headers' });
    expect(verify(GITHUB, { headerValue: '' })).toEqual({ ok: false, reason: 'missing-headers' });
  });

  describe('timestamped scheme', () => {
    function signedAt(timestamp: number): Partial<VerifyInput> {
      return {
        headerValue: signHeaderSignature({
          scheme: TIMESTAMPED,
          rawBody: BODY,
          secret: SECRET,
          timestampSeconds: timestamp,
        }),
        timestampValue: String(timestamp),
      };
    }

    it('accepts a timestamp exactly 300 s old or ahead', () => {
      expect(verify(TIMESTAMPED, signedAt(NOW - 300))).toEqual({ ok: true });
      expect(verify(TIMESTAMPED, signedAt(NOW + 300))).toEqual({ ok: true });
    });

    it('rejects a timestamp 301 s old or 301 s ahead', () => {
      expect(verify(TIMESTAMPED, signedAt(NOW - 301))).toEqual({ ok: false, reason: 'timestamp-too-old' });
      expect(verify(TIMESTAMPED, signedAt(NOW + 301))).toEqual({ ok: false, reason: 'timestamp-in-future' });
    });

    it('honours a custom tolerance', () => {
      expect(verify(TIMESTAMPED, { ...signedAt(NOW - 30), toleranceSeconds: 10 })).toEqual({
        ok: false,
        reason: 'timestamp-too-old',
      });
    });

    it('rejects a signature replayed with a different timestamp', () => {
      expect(verify(TIMESTAMPED, { timestampValue: String(NOW - 1) })).toEqual({
        ok: false,
        reason: 'signature-mismatch',
      });
    });

    it('rejects a body-only signature (no timestamp signed)', () => {
      const headerValue = `v1=${createHmac('sha256', SECRET).update(BODY).digest('hex')}`;
      expect(verify(TIMESTAMPED, { headerValue })).toEqual({ ok: false, reason: 'signature-mismatch' });
    });

    it('reports missing-headers when the timestamp header is missing or empty', () => {
      expect(verify(TIMESTAMPED, { timestampValue: undefined })).toEqual({ ok: false, reason: 'missing-headers' });
      expect(verify(TIMESTAMPED, { timestampValue: '' })).toEqual({ ok: false, reason: 'missing-headers' });
    });

    it('reports a syntax error before the window: malformed signature with a stale timestamp', () => {
      const stale = signedAt(NOW - 301);
      expect(verify(TIMESTAMPED, { ...stale, headerValue: 'v1=zz' })).toEqual({
        ok: false,
        reason: 'malformed-signature',
      });
      expect(verify(TIMESTAMPED, { ...stale, timestampValue: 'soon' })).toEqual({
        ok: false,
        reason: 'malformed-timestamp',
      });
    });

    it.each(['soon', '1700000000.0', '-1700000000', '1.7e9'])(
      'reports malformed-timestamp for %j',
      (timestampValue) => {
        expect(verify(TIMESTAMPED, { timestampValue })).toEqual({ ok: false, reason: 'malformed-timestamp' });
      },
    );
  });

  it('ignores a timestamp value when the scheme does not sign one', () => {
    expect(verify(GITHUB, { timestampValue: 'anything' })).toEqual({ ok: true });
  });
});
