import { formatMoney, minorToDecimal, parseAmountMinor } from './money';

describe('money', () => {
  it('converts minor units exactly, including negatives and tiny amounts', () => {
    expect(minorToDecimal(324782n, 2)).toBe('3247.82');
    expect(minorToDecimal('-5', 2)).toBe('-0.05');
    expect(minorToDecimal('0', 2)).toBe('0.00');
    expect(minorToDecimal('1500', 0)).toBe('1500');
    expect(minorToDecimal('90071992547409931', 2)).toBe('900719925474099.31');
  });

  it('formats for the language and currency', () => {
    expect(formatMoney('324782', 'USD', 'en').formatted).toBe('$3,247.82');
    expect(formatMoney('184315', 'EUR', 'de').formatted).toBe('1.843,15\u00a0€');
    expect(formatMoney('1500', 'JPY', 'en').formatted).toBe('¥1,500');
    expect(formatMoney('-8645', 'USD', 'en-US').formatted).toBe('-$86.45');
  });

  it('keeps precision a float would lose', () => {
    expect(formatMoney('90071992547409931', 'USD', 'en').decimal).toBe('900719925474099.31');
    expect(formatMoney('90071992547409931', 'USD', 'en').formatted).toBe('$900,719,925,474,099.31');
  });

  it('falls back to English for malformed language tags and languages the reply is not written in', () => {
    expect(formatMoney('100', 'USD', 'not a locale!').formatted).toBe('$1.00');
    expect(formatMoney('100', 'USD', '???').formatted).toBe('$1.00');
    expect(formatMoney('184315', 'EUR', 'it-IT').formatted).toBe('€1,843.15');
    expect(formatMoney('184315', 'EUR', 'de-CH').formatted).toBe("EUR\u00a01'843.15");
  });
});

describe('parseAmountMinor', () => {
  it('parses numbers, strings and Dialogflow currency objects exactly', () => {
    expect(parseAmountMinor(100.5, 'USD')).toBe(10050n);
    expect(parseAmountMinor('0.07', 'USD')).toBe(7n);
    expect(parseAmountMinor({ amount: 12, currency: 'USD' }, 'USD')).toBe(1200n);
    expect(parseAmountMinor('1500', 'JPY')).toBe(1500n);
    expect(parseAmountMinor('10.50', 'USD')).toBe(1050n);
  });

  it('asks again for text with a dot before exactly three digits, which reads as a decimal point or a thousands separator', () => {
    for (const text of ['1.000', '2.500', '12.000']) expect(parseAmountMinor(text, 'EUR')).toBeUndefined();
    // A number is a number; a currency with three decimals (KWD) means them; two digits after a dot are decimals.
    expect(parseAmountMinor(1.0, 'EUR')).toBe(100n);
    expect(parseAmountMinor('1.250', 'KWD')).toBe(1250n);
    expect(parseAmountMinor('1.50', 'EUR')).toBe(150n);
    expect(parseAmountMinor({ amount: 2.5, currency: 'EUR' }, 'EUR')).toBe(250n);
  });

  it('refuses zero, negatives, too many decimals and garbage', () => {
    for (const bad of [0, -5, '1.005', '12,50', 'abc', '', null, undefined, { amount: 'x' }, '1e3', '1.5', Infinity]) {
      expect(parseAmountMinor(bad, bad === '1.5' ? 'JPY' : 'USD')).toBeUndefined();
    }
  });
});
