import { isUnconfirmedCommit, UnconfirmedCommitError } from './unconfirmed-commit';

describe('unconfirmed commits (a cancelled wait for the synchronous standbys)', () => {
  const english = {
    message: 'canceling wait for synchronous replication due to user request',
    detail: 'The transaction has already committed locally, but might not have been replicated to the standby.',
    routine: 'SyncRepWaitForLSN',
  };

  it('is told by the routine that waits, whatever language the server speaks', () => {
    expect(isUnconfirmedCommit(english)).toBe(true);
    expect(
      isUnconfirmedCommit({
        message: 'breche Warten auf synchrone Replikation ab wegen Benutzeraufforderung',
        routine: 'SyncRepWaitForLSN',
      }),
    ).toBe(true);
    // A server that does not send the routine (a proxy that drops the field) still says so in English.
    expect(isUnconfirmedCommit({ message: english.message })).toBe(true);
    expect(
      isUnconfirmedCommit({
        message:
          'canceling the wait for synchronous replication and terminating connection due to administrator command',
      }),
    ).toBe(true);
  });

  it('other notices are not', () => {
    expect(
      isUnconfirmedCommit({ message: 'there is no transaction in progress', routine: 'EndTransactionBlock' }),
    ).toBe(false);
    expect(
      isUnconfirmedCommit({ message: 'relation "x" already exists, skipping', routine: 'transformCreateStmt' }),
    ).toBe(false);
    expect(isUnconfirmedCommit({})).toBe(false);
  });

  it('the error carries what PostgreSQL said and a code of its own', () => {
    const error = new UnconfirmedCommitError(english);
    expect(error.code).toBe('COMMIT_NOT_REPLICATED');
    expect(error.message).toBe(`${english.message} (${english.detail})`);
  });
});
