import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A console session ended before its cookie expires (its user signed out). Console sessions are sealed cookies
 * the server does not store, so an ended one is remembered here until the cookie would have expired anyway. Two
 * other kinds of row share the table, under prefixed keys (see `SessionRevocations`): all of a subject's sessions
 * ended by an operator (`subject:…`), and a sign-in state already exchanged for a code (`login-state:…`).
 */
@Entity({ name: 'console_revoked_sessions' })
@Index('IDX_console_revoked_sessions_expires_at', ['expiresAt'])
export class RevokedSession {
  @PrimaryColumn({ name: 'session_id', type: 'varchar', length: 64 })
  sessionId!: string;

  /** When the session's cookie expires: the row is of no use after that. */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;
}
