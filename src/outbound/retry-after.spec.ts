import { parseRetryAfter } from './retry-after';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 2 ', now)).toBe(2_000);
    expect(parseRetryAfter(['3', '9'], now)).toBe(3_000);
  });

  it('reads HTTP-dates, a past date meaning now', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 12:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Thursday, 01-Jan-26 12:00:01 GMT', now)).toBe(1_000);
  });

  it('ignores absent and unreadable values', () => {
    for (const value of [undefined, '', '-1', '1.5', 'soon', '2026-01-01T12:00:05Z', 'Thu, 99 Jan 2026']) {
      expect(parseRetryAfter(value, now)).toBeUndefined();
    }
  });
});
