import { isBlank, wholeNumberFrom } from './parameter-values';

describe('parameter values', () => {
  it('reads a whole number from a JSON number or decimal digits', () => {
    expect(wholeNumberFrom(12)).toBe(12);
    expect(wholeNumberFrom(' 12 ')).toBe(12);
    expect(wholeNumberFrom('007')).toBe(7);
    expect(wholeNumberFrom(0)).toBe(0);
  });

  it('reads nothing from text Number() would take: exponents, hex, binary, blanks, fractions, signs', () => {
    for (const text of ['1e3', '0x2', '0b1', '0o7', '', ' ', '12.5', '+3', '-3', '1,000', 'Infinity', '1'.repeat(16)]) {
      expect({ text, value: wholeNumberFrom(text) }).toEqual({ text, value: undefined });
    }
    expect(wholeNumberFrom(2.5)).toBeUndefined();
    expect(wholeNumberFrom(Number.NaN)).toBeUndefined();
    expect(wholeNumberFrom({ amount: 3 })).toBeUndefined();
    expect(wholeNumberFrom(true)).toBeUndefined();
  });

  it('takes absent, null and blank text for a parameter not given', () => {
    expect([undefined, null, '', '  '].map(isBlank)).toEqual([true, true, true, true]);
    expect([0, '0', false, {}].map(isBlank)).toEqual([false, false, false, false]);
  });
});
