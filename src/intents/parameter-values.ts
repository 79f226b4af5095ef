const DIGITS = /^\d{1,15}$/;

/** A parameter the platform left unfilled: absent, null, or blank text. */
export function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/**
 * A whole number given as a JSON number or as decimal digits ("12"). `Number()` would also read "1e3", "0x2",
 * "0b1" and "" (as 0); those, fractions and signs are undefined here, as is anything past 15 digits.
 */
export function wholeNumberFrom(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value !== 'string' || !DIGITS.test(value.trim())) return undefined;
  return Number(value.trim());
}
