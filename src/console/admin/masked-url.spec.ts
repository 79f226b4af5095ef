import { createHash } from 'node:crypto';
import { maskedUrl } from './masked-url';

const DIGEST = /^https:\/\/hooks\.example\/… \(hmac:[0-9a-f]{12}\)$/;
const PIN_URL = 'https://hooks.example/pin/123456';

describe('maskedUrl', () => {
  const key = Buffer.alloc(32, 7);

  it('keeps the origin and replaces a path or query that may hold a secret with a digest', () => {
    const masked = maskedUrl('https://hooks.example/T0/B0/SECRETTOKEN?x=1', key);
    expect(masked).toMatch(DIGEST);
    expect(masked).not.toContain('SECRETTOKEN');
    expect(maskedUrl('https://hooks.example/T0/B0/OTHER', key)).not.toBe(masked);
    expect(maskedUrl('https://bot.example/', key)).toBe('https://bot.example');
    expect(maskedUrl('not a url', key)).toBe('an unreadable URL');
  });

  it('gives a URL the same digest each time, also under the per-process key, so operators can compare them', () => {
    expect(maskedUrl(PIN_URL, key)).toBe(maskedUrl(PIN_URL, Buffer.alloc(32, 7)));
    expect(maskedUrl(PIN_URL)).toMatch(DIGEST);
    expect(maskedUrl(PIN_URL)).toBe(maskedUrl(PIN_URL));
  });

  it('keys the digest with a server-side secret: a viewer cannot try candidate secrets against it', () => {
    const [, digest] = /\(\w+:([0-9a-f]{12})\)$/.exec(maskedUrl(PIN_URL, key))!;
    expect(digest).not.toBe(createHash('sha256').update('/pin/123456').digest('hex').slice(0, 12));
    expect(maskedUrl(PIN_URL, Buffer.alloc(32, 8))).not.toBe(maskedUrl(PIN_URL, key));
    expect(maskedUrl(PIN_URL)).not.toBe(maskedUrl(PIN_URL, key));
  });
});
