import { clean } from './audit-log';

describe('clean (every text an audit row stores)', () => {
  it('replaces control characters and line separators, so a value cannot forge a line of an export or a log', () => {
    expect(clean('evil\r\nforged-line\u0000\u007f\u2028\u2029end', 200)).toBe('evil??forged-line????end');
  });

  it('cuts a long value to its column with an ellipsis, and stores nothing for an empty one', () => {
    expect(clean('x'.repeat(10), 5)).toBe('xxxx…');
    expect(clean('fits', 5)).toBe('fits');
    expect(clean('', 5)).toBeNull();
    expect(clean(undefined, 5)).toBeNull();
  });
});
