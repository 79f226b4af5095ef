/** The fields of a PostgreSQL notice this module reads (pg's `NoticeMessage`). */
export interface Notice {
  readonly message?: string;
  readonly detail?: string;
  readonly routine?: string;
}

/**
 * The server function that waits for the synchronous standbys at commit. Its name comes with each notice it
 * raises whatever the server's `lc_messages`, where the message itself may be translated.
 */
const SYNC_REP_WAIT = 'SyncRepWaitForLSN';
const CANCELLED_WAIT = /canceling (the )?wait for synchronous replication/i;

/**
 * A commit PostgreSQL made on the primary but could not confirm on its synchronous standbys: the wait for them
 * was cancelled (`pg_cancel_backend`, an operator releasing the sessions stuck while a standby is away), and the
 * server answered the commit with a warning instead of an error. A failover to a standby can lose such a commit,
 * so the service does not take it for done: the statement fails with this error, and what it wrote is treated as
 * a write whose outcome is unknown (the turn's unique keys make a retry carry it out once).
 */
export class UnconfirmedCommitError extends Error {
  readonly code = 'COMMIT_NOT_REPLICATED';

  constructor(notice: Notice) {
    super(
      `${notice.message ?? 'canceling wait for synchronous replication'}${notice.detail ? ` (${notice.detail})` : ''}`,
    );
    this.name = 'UnconfirmedCommitError';
  }
}

/** Whether a notice says the commit of the statement it came with was not confirmed by the synchronous standbys. */
export function isUnconfirmedCommit(notice: Notice): boolean {
  return notice.routine === SYNC_REP_WAIT || CANCELLED_WAIT.test(notice.message ?? '');
}
