import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { createHash } from 'node:crypto';
import { type ExpiringRows, PurgesExpiredRows } from '../../common/retention';
import { DatabasePool } from '../../database/database-pool';
import { sql, type SqlTransaction } from '../../database/sql';

/** ADMIN_SESSION_HOURS is at most 7 × 24: no console session cookie lives longer than this. */
export const LONGEST_SESSION_MS = 7 * 24 * 3_600_000;

/** A signed-in person's console session, as far as ending it goes. */
export interface ConsoleSession {
  readonly sessionId: string;
  /** The identity provider's subject (`sub`). */
  readonly subject: string;
  /** When the person signed in (ms); unknown counts as before any ending of the subject's sessions. */
  readonly signedInAt?: number;
}

const REVOKE = sql<never, [sessionId: string, expiresAt: Date]>(
  'console_session_revoke',
  `INSERT INTO console_revoked_sessions (session_id, expires_at) VALUES ($1, $2)
   ON CONFLICT (session_id) DO NOTHING`,
);

/**
 * The session's own row, or its subject's row (see `endSessionsOf`) when the session was signed in at or before
 * the instant that row stands for: `expires_at` is that instant plus LONGEST_SESSION_MS, so `$3` is the session's
 * sign-in plus LONGEST_SESSION_MS.
 */
const IS_REVOKED = sql<
  { revoked: 1 },
  [sessionId: string, subjectKey: string | null, signedInPlusLongest: Date | null]
>(
  'console_session_is_revoked',
  `SELECT 1 AS revoked FROM console_revoked_sessions
   WHERE session_id = $1 OR (session_id = $2 AND expires_at >= $3)
   LIMIT 1`,
);

/**
 * A later ending of a subject's sessions replaces an earlier one; an earlier one never undoes a later. The instant
 * is `$2`, or the database's clock: one clock for every replica and every operator's command (sign-in times are
 * stamped by the replicas, whose clocks are kept in step with it; an operator's workstation's may be minutes off).
 */
const END_SUBJECT = sql<{ signedInBefore: Date }, [subjectKey: string, signedInBefore: Date | null, longestMs: number]>(
  'console_session_end_subject',
  `WITH ending AS (SELECT COALESCE($2::timestamptz, now()) AS instant)
   INSERT INTO console_revoked_sessions (session_id, expires_at)
   SELECT $1, instant + make_interval(secs => $3::float8 / 1000) FROM ending
   ON CONFLICT (session_id) DO UPDATE SET expires_at = GREATEST(console_revoked_sessions.expires_at, EXCLUDED.expires_at)
   RETURNING expires_at - make_interval(secs => $3::float8 / 1000) AS "signedInBefore"`,
);

const CLAIM_LOGIN_STATE = sql<{ claimed: 1 }, [stateKey: string, expiresAt: Date]>(
  'console_login_state_claim',
  `INSERT INTO console_revoked_sessions (session_id, expires_at) VALUES ($1, $2)
   ON CONFLICT (session_id) DO NOTHING
   RETURNING 1 AS claimed`,
);

const PURGE = sql<{ purged: 1 }, [limit: number]>(
  'console_revoked_sessions_purge',
  `DELETE FROM console_revoked_sessions WHERE session_id IN (
     SELECT session_id FROM console_revoked_sessions WHERE expires_at < now() LIMIT $1)
   RETURNING 1 AS purged`,
);

/**
 * The row key of a subject's ended sessions, and of a used sign-in state: prefixed and hashed, so that neither
 * can be taken for a session id (a UUID) and both fit the column (a subject may have 255 characters).
 */
function keyOf(kind: 'subject' | 'login-state', value: string): string {
  return `${kind}:${createHash('sha256').update(value, 'utf8').digest('base64url')}`;
}

/**
 * Ends every console session of `subject` signed in at or before `signedInBefore` (by default the database's clock
 * now), on every replica (each checks the table on every request); the person's next
 * sign-in starts a session that is not ended. For the command line too, which has a connection of its own rather
 * than the service's pool (and a workstation's clock, which may be minutes off). Resolves to the instant the
 * subject's sessions are now ended up to (a later ending kept).
 */
export async function endSessionsOf(
  database: Pick<SqlTransaction, 'run'>,
  subject: string,
  signedInBefore?: Date,
): Promise<Date> {
  // The row outlives every session it ends: none lives longer than LONGEST_SESSION_MS after signing in.
  const [ended] = await database.run(END_SUBJECT, [
    keyOf('subject', subject),
    signedInBefore ?? null,
    LONGEST_SESSION_MS,
  ]);
  return ended.signedInBefore;
}

/**
 * Console sessions that were ended: one its user signed out of, or all of a person's, ended by an operator (a
 * person removed or demoted at the identity provider keeps the roles sealed in their cookie until it expires).
 * Every replica's console refuses their cookies from then on (one indexed lookup per console request: the console
 * is used by a few people, not by bots). The table also remembers sign-in states already exchanged for a code.
 */
@PurgesExpiredRows('console_revoked_sessions')
@Injectable()
export class SessionRevocations implements ExpiringRows {
  private readonly listeners = new Set<(sessionId: string) => void>();
  /**
   * Sessions this replica checked, by id: a live tail knows only its session's id, and has it checked again by id
   * alone (`isRevoked`), which must still find its subject's ending.
   */
  private readonly checked = new LRUCache<string, ConsoleSession>({ max: 10_000, ttl: LONGEST_SESSION_MS });

  constructor(private readonly pool: DatabasePool) {}

  async revoke(sessionId: string, cookieExpiresAt: Date): Promise<void> {
    await this.pool.run(REVOKE, [sessionId, cookieExpiresAt]);
    this.tell(sessionId);
  }

  /** See `endSessionsOf`; the sessions this replica knows of end at once (a live tail, say). */
  async endSessionsOf(subject: string, signedInBefore?: Date): Promise<Date> {
    const ended = await endSessionsOf(this.pool, subject, signedInBefore);
    for (const session of [...this.checked.values()]) {
      if (session.subject === subject && (session.signedInAt ?? 0) <= ended.getTime()) {
        this.tell(session.sessionId);
      }
    }
    return ended;
  }

  /** Calls `listener` with each session this replica ends (other replicas' are found by `isRevoked`). */
  onRevoked(listener: (sessionId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether the session was signed out, or ended with the rest of its subject's; by id, for a session checked before. */
  async isRevoked(session: string | ConsoleSession): Promise<boolean> {
    const known = typeof session === 'string' ? this.checked.get(session) : session;
    if (typeof session !== 'string') this.checked.set(session.sessionId, session);
    const sessionId = typeof session === 'string' ? session : session.sessionId;
    const rows = await this.pool.run(IS_REVOKED, [
      sessionId,
      known ? keyOf('subject', known.subject) : null,
      known ? new Date((known.signedInAt ?? 0) + LONGEST_SESSION_MS) : null,
    ]);
    return rows.length > 0;
  }

  /**
   * Records that a sign-in's state reached its code exchange; false when it had already, here or on another
   * replica. `expiresAt`: when the state's cookie expires, after which no one can present it again.
   */
  async claimLoginState(state: string, expiresAt: Date): Promise<boolean> {
    return (await this.pool.run(CLAIM_LOGIN_STATE, [keyOf('login-state', state), expiresAt])).length > 0;
  }

  async purgeExpired(limit: number): Promise<number> {
    return (await this.pool.run(PURGE, [limit])).length;
  }

  private tell(sessionId: string): void {
    for (const listener of this.listeners) listener(sessionId);
  }
}
