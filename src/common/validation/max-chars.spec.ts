import { withinChars } from './max-chars';

describe('withinChars', () => {
  it('counts code points: a surrogate pair is one character, a variation selector another', () => {
    expect(withinChars('abc', 3)).toBe(true);
    expect(withinChars('abcd', 3)).toBe(false);
    expect(withinChars('😀😀😀', 3)).toBe(true); // six UTF-16 units
    expect(withinChars('x\uFE0F', 1)).toBe(false);
    expect(withinChars('x\uFE0F'.repeat(2), 4)).toBe(true);
  });
});
