import { DatabaseError } from 'pg';
import { loggableErrorText, loggableStack } from './loggable-error';

/** An error as pg hands it over, with the SQLSTATE PostgreSQL sent. */
function databaseError(message: string, code: string): DatabaseError {
  const error = new DatabaseError(message, message.length, 'error');
  error.code = code;
  return error;
}

describe('loggableErrorText / loggableStack', () => {
  it('masks the values a PostgreSQL data exception repeats, in the text and in the stack', () => {
    const error = databaseError('invalid input syntax for type bigint: "DE89370400440532013000"', '22P02');
    expect(loggableErrorText(error)).toBe('error: invalid input syntax for type bigint: "…"');
    expect(loggableStack(error)).not.toContain('DE8937');
    expect(loggableStack(error)).toContain('invalid input syntax for type bigint: "…"');
    const range = databaseError('value "99999999999" is out of range for type integer', '22003');
    expect(loggableErrorText(range)).toBe('error: value "…" is out of range for type integer');
    // A doubled quote inside the value does not end the mask early.
    const quoted = databaseError('invalid input syntax for type uuid: "a""b"', '22P02');
    expect(loggableErrorText(quoted)).toBe('error: invalid input syntax for type uuid: "…"');
  });

  it('keeps the identifiers other errors name, and other errors whole', () => {
    const unique = databaseError('duplicate key value violates unique constraint "transfers_key"', '23505');
    expect(loggableErrorText(unique)).toBe('error: duplicate key value violates unique constraint "transfers_key"');
    expect(loggableStack(unique)).toBe(unique.stack);
    expect(loggableErrorText(new TypeError('x is not a function'))).toBe('TypeError: x is not a function');
    expect(loggableErrorText('plain')).toBe('plain');
    expect(loggableStack('plain')).toBeUndefined();
  });
});
