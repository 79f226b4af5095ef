import { isConnectionError, isReadOnlyError, isUnusableConnection, raisedWhileConnecting } from './connection-errors';

const pgError = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });

describe('connection errors', () => {
  it('knows a lost server from a bad statement', () => {
    expect(isConnectionError(pgError('ECONNREFUSED'))).toBe(true);
    expect(isConnectionError(pgError('57P01'))).toBe(true);
    expect(isConnectionError(pgError('08006'))).toBe(true);
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(pgError('23505'))).toBe(false);
    expect(isConnectionError(pgError('42P01'))).toBe(false);
    expect(isConnectionError(undefined)).toBe(false);
  });

  it('finds the driver error under what wraps it (TypeORM, a cause)', () => {
    const wrapped = Object.assign(new Error('query failed'), { driverError: pgError('57P03') });
    expect(isConnectionError(wrapped)).toBe(true);
    expect(isReadOnlyError(new Error('outer', { cause: pgError('25006') }))).toBe(true);
  });

  it('any error raised while opening a connection (a login refused, the database gone) is a connection error', () => {
    for (const code of ['28000', '28P01', '3D000', '55000', '42501']) {
      expect(isConnectionError(pgError(code))).toBe(false);
      expect(isConnectionError(raisedWhileConnecting(pgError(code)))).toBe(true);
    }
    // Marked, not changed: its message and enumerable fields (what a log line shows) are as they were.
    const refused = raisedWhileConnecting(pgError('28000', 'role "x" is not permitted to log in'));
    expect(Object.keys(refused)).toEqual(['code']);
    expect(isConnectionError(Object.assign(new Error('wrapped'), { driverError: refused }))).toBe(true);
  });

  it('a write refused by a server that takes none (25006) is read-only, not a lost server', () => {
    const readOnly = pgError('25006', 'cannot execute INSERT in a read-only transaction');
    expect(isReadOnlyError(readOnly)).toBe(true);
    expect(isConnectionError(readOnly)).toBe(false);
    expect(isReadOnlyError(pgError('ECONNRESET'))).toBe(false);
  });

  it('a connection is of no more use after either; after a bad statement it is', () => {
    expect(isUnusableConnection(pgError('25006'))).toBe(true);
    expect(isUnusableConnection(pgError('ECONNRESET'))).toBe(true);
    expect(isUnusableConnection(pgError('23505'))).toBe(false);
    expect(isUnusableConnection(pgError('40001'))).toBe(false);
  });
});
