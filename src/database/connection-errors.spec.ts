import {
  isConnectionError,
  isReadOnlyError,
  isSilentPath,
  isUnusableConnection,
  mayHaveCommitted,
  passingDatabaseFailure,
  raisedBeforeCommit,
  raisedWhileConnecting,
  serverRefusal,
} from './connection-errors';
import { UnconfirmedCommitError } from './unconfirmed-commit';

const pgError = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });

describe('connection errors', () => {
  it('knows a lost server from a bad statement', () => {
    expect(isConnectionError(pgError('ECONNREFUSED'))).toBe(true);
    expect(isConnectionError(pgError('57P01'))).toBe(true);
    // A session the server ended for being idle (idle_session_timeout): the connection is gone, the server is not.
    expect(isConnectionError(pgError('57P05'))).toBe(true);
    expect(isConnectionError(pgError('08006'))).toBe(true);
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(pgError('23505'))).toBe(false);
    expect(isConnectionError(pgError('42P01'))).toBe(false);
    expect(isConnectionError(undefined)).toBe(false);
  });

  it('knows a silent path (every connection on it dead) from a server that answers to refuse', () => {
    for (const code of ['ETIMEDOUT', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']) {
      expect(isSilentPath(pgError(code))).toBe(true);
    }
    // pg's connect timeout has no code.
    expect(isSilentPath(new Error('timeout expired'))).toBe(true);
    expect(isSilentPath(Object.assign(new Error('query failed'), { driverError: pgError('ETIMEDOUT') }))).toBe(true);
    // The server answered: a login refused, too many connections, shutting down, one session terminated.
    for (const code of ['28P01', '53300', '57P01', '57P03', '08006']) expect(isSilentPath(pgError(code))).toBe(false);
    expect(isSilentPath(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(isSilentPath(undefined)).toBe(false);
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

  it('a refusal for a passing reason gets the degraded or busy reply, naming the server code and message', () => {
    expect(serverRefusal(pgError('53100', 'could not extend file "base/1/2": No space left on device'))).toEqual({
      outcome: 'degraded',
      why: 'PostgreSQL is out of disk space: 53100 could not extend file "base/1/2": No space left on device',
    });
    expect(serverRefusal(pgError('53200'))?.outcome).toBe('degraded');
    expect(serverRefusal(pgError('58030'))?.outcome).toBe('degraded');
    expect(serverRefusal(pgError('25006'))?.why).toMatch(
      /^PostgreSQL takes no writes \(a standby, or set read-only\): 25006/,
    );
    expect(
      serverRefusal(new UnconfirmedCommitError({ message: 'canceling wait for synchronous replication' })),
    ).toEqual({
      outcome: 'degraded',
      why:
        'PostgreSQL could not confirm a commit on its synchronous standby (the wait was cancelled): ' +
        'COMMIT_NOT_REPLICATED canceling wait for synchronous replication',
    });
    expect(isUnusableConnection(new UnconfirmedCommitError({}))).toBe(false);
    for (const code of ['57014', '55P03', '40001', '40P01']) expect(serverRefusal(pgError(code))?.outcome).toBe('busy');
    const wrapped = Object.assign(new Error('query failed'), { driverError: pgError('40P01', 'deadlock detected') });
    expect(serverRefusal(wrapped)?.why).toBe('a concurrent transaction deadlocked with it: 40P01 deadlock detected');
  });

  it("what is the turn's own fault, or a lost server, is no refusal", () => {
    // A constraint, a bad statement, a limit the statement itself hit (53400 temp_file_limit), an internal error.
    for (const code of ['23505', '42P01', '22P02', '53400', '54000', 'XX000', 'ECONNRESET', '57P01']) {
      expect(serverRefusal(pgError(code))).toBeUndefined();
    }
    expect(serverRefusal(undefined)).toBeUndefined();
  });

  it('a passing failure, for log lines: a refusal with its code, a lost server, nothing of the statement itself', () => {
    expect(passingDatabaseFailure(pgError('53100', 'could not extend file'))).toBe(
      'PostgreSQL is out of disk space: 53100 could not extend file',
    );
    expect(passingDatabaseFailure(pgError('57P01'))).toBe('PostgreSQL is unreachable');
    expect(passingDatabaseFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(
      'PostgreSQL is unreachable',
    );
    for (const code of ['23505', '42P01', '53400', 'XX000'])
      expect(passingDatabaseFailure(pgError(code))).toBeUndefined();
    expect(passingDatabaseFailure(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBeUndefined();
  });
});

describe('mayHaveCommitted: a failed statement whose write may stand all the same', () => {
  const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });

  it('is true for an unconfirmed commit and for a connection lost under a statement', () => {
    expect(mayHaveCommitted(new UnconfirmedCommitError({ routine: 'SyncRepWaitForLSN' }))).toBe(true);
    expect(mayHaveCommitted(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(mayHaveCommitted(coded('ECONNRESET'))).toBe(true);
    expect(mayHaveCommitted(coded('57P01', 'terminating connection due to administrator command'))).toBe(true);
    expect(mayHaveCommitted(coded('08006'))).toBe(true);
    expect(mayHaveCommitted({ driverError: coded('ETIMEDOUT') })).toBe(true);
  });

  it('is false where nothing reached a server, and for an error of the statement itself', () => {
    expect(mayHaveCommitted(coded('ECONNREFUSED'))).toBe(false);
    expect(mayHaveCommitted(coded('53300', 'too many connections'))).toBe(false);
    expect(mayHaveCommitted(coded('57P03', 'the database system is starting up'))).toBe(false);
    expect(mayHaveCommitted(raisedWhileConnecting(coded('ECONNRESET')))).toBe(false);
    expect(mayHaveCommitted(coded('23505', 'duplicate key'))).toBe(false);
    expect(mayHaveCommitted(coded('57014', 'canceling statement'))).toBe(false);
  });

  it('is false for a connection lost in a transaction before its COMMIT was sent: the server rolled it back', () => {
    expect(mayHaveCommitted(raisedBeforeCommit(new Error('Connection terminated unexpectedly')))).toBe(false);
    expect(mayHaveCommitted({ driverError: raisedBeforeCommit(coded('ECONNRESET')) })).toBe(false);
    // A frozen error is left as it is (and still judged by what it says).
    expect(mayHaveCommitted(raisedBeforeCommit(Object.freeze(coded('ECONNRESET'))))).toBe(true);
  });
});
