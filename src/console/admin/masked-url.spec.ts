import { maskedUrl } from './masked-url';

describe('maskedUrl', () => {
  it('keeps the origin and replaces a path or query that may hold a secret with a digest', () => {
    const masked = maskedUrl('https://hooks.example/T0/B0/SECRETTOKEN?x=1');
    expect(masked).toMatch(/^https:\/\/hooks\.example\/… \(sha256:[0-9a-f]{12}\)$/);
    expect(masked).not.toContain('SECRETTOKEN');
    expect(maskedUrl('https://hooks.example/T0/B0/OTHER')).not.toBe(masked);
    expect(maskedUrl('https://bot.example/')).toBe('https://bot.example');
    expect(maskedUrl('not a url')).toBe('an unreadable URL');
  });
});
