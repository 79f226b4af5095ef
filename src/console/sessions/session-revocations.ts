import { Injectable } from '@nestjs/common';
import { type ExpiringRows, PurgesExpiredRows } from '../../common/retention';
import { DatabasePool } from '../../database/database-pool';
import { sql } from '../../database/sql';

const REVOKE = sql<never, [sessionId: string, expiresAt: Date]>(
  'console_session_revoke',
  `INSERT INTO console_revoked_sessions (session_id, expires_at) VALUES ($1, $2)
   ON CONFLICT (session_id) DO NOTHING`,
);

const IS_REVOKED = sql<{ revoked: 1 }, [sessionId: string]>(
  'console_session_is_revoked',
  `SELECT 1 AS revoked FROM console_revoked_sessions WHERE session_id = $1`,
);

const PURGE = sql<{ purged: 1 }, [limit: number]>(
  'console_revoked_sessions_purge',
  `DELETE FROM console_revoked_sessions WHERE session_id IN (
     SELECT session_id FROM console_revoked_sessions WHERE expires_at < now() LIMIT $1)
   RETURNING 1 AS purged`,
);

/**
 * Console sessions their users ended: every replica's console refuses their cookies from then on (one primary-key
 * lookup per console request: the console is used by a few people, not by bots).
 */
@PurgesExpiredRows('console_revoked_sessions')
@Injectable()
export class SessionRevocations implements ExpiringRows {
  private readonly listeners = new Set<(sessionId: string) => void>();

  constructor(private readonly pool: DatabasePool) {}

  async revoke(sessionId: string, cookieExpiresAt: Date): Promise<void> {
    await this.pool.run(REVOKE, [sessionId, cookieExpiresAt]);
    for (const listener of this.listeners) listener(sessionId);
  }

  /** Calls `listener` with each session this replica revokes (other replicas' are found by `isRevoked`). */
  onRevoked(listener: (sessionId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    return (await this.pool.run(IS_REVOKED, [sessionId])).length > 0;
  }

  async purgeExpired(limit: number): Promise<number> {
    return (await this.pool.run(PURGE, [limit])).length;
  }
}
