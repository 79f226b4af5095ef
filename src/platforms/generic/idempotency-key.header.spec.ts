import { AppError } from '../../common/errors/app-error';
import { parseIdempotencyKey } from './idempotency-key.header';

function refusal(header: string | string[]): AppError {
  try {
    parseIdempotencyKey(header);
  } catch (error: unknown) {
    return error as AppError;
  }
  throw new Error(`expected ${JSON.stringify(header)} to be refused`);
}

describe('parseIdempotencyKey', () => {
  it('reads an RFC 9651 sf-string', () => {
    expect(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toBe('8e03978e-40d5-43e8-bc93-6894a57f9324');
  });

  it('unescapes \\" and \\\\ and keeps inner spaces and commas', () => {
    expect(parseIdempotencyKey('"a \\"b\\" \\\\ c, d"')).toBe('a "b" \\ c, d');
  });

  it('accepts the bare legacy form', () => {
    expect(parseIdempotencyKey('order-2026-0042')).toBe('order-2026-0042');
    expect(parseIdempotencyKey('a:b/c@d=e')).toBe('a:b/c@d=e');
  });

  it('is undefined when absent', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
  });

  it('bounds the key at 255 characters, counted after unquoting', () => {
    expect(parseIdempotencyKey(`"${'k'.repeat(255)}"`)).toHaveLength(255);
    expect(refusal(`"${'k'.repeat(256)}"`).code).toBe('VALIDATION_FAILED');
    expect(refusal('k'.repeat(256)).code).toBe('VALIDATION_FAILED');
  });

  it.each([
    ['an empty string', ''],
    ['an empty sf-string', '""'],
    ['an unterminated sf-string', '"abc'],
    ['an unknown escape', '"a\\nb"'],
    ['a control character', '"a\u0001b"'],
    ['non-ASCII', '"clé"'],
    ['a key that starts with a space', '" key"'],
    ['parameters', '"abc";p=1'],
    ['trailing characters', '"abc"x'],
    ['a bare value with a space', 'two words'],
    ['a bare value with a quote', 'ab"c'],
    ['a bare value with a backslash', 'a\\b'],
    ['a token (sf-token) that is not a string', 'abc;p=1 x'],
  ])('refuses %s with 400 VALIDATION_FAILED naming the header', (_label, header) => {
    const error = refusal(header);
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details).toEqual([{ field: 'Idempotency-Key', problem: expect.any(String) }]);
  });

  it.each([
    ['two sf-strings joined by Node', '"a", "b"'],
    ['the same key twice', '"a", "a"'],
    ['a bare list', 'a, b'],
    ['an sf-list without spaces', '"a","b"'],
    ['a trailing comma', '"a",'],
  ])('refuses %s as more than one header (400 MALFORMED_REQUEST)', (_label, header) => {
    const error = refusal(header);
    expect(error.code).toBe('MALFORMED_REQUEST');
    expect(error.message).toBe('The request has more than one Idempotency-Key header.');
    expect(error.details).toEqual([{ field: 'Idempotency-Key', problem: expect.any(String) }]);
  });

  it('refuses repeated values handed over as a list (gRPC metadata)', () => {
    expect(refusal(['"a"', '"b"']).code).toBe('MALFORMED_REQUEST');
    expect(parseIdempotencyKey(['"a"'])).toBe('a');
  });
});
