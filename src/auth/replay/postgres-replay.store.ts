import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { purgeInBatches } from '../../common/retention';
import { DatabasePool } from '../../database/database-pool';
import { sql } from '../../database/sql';
import { ReplayStore, type ReplayVerdict } from './replay-store';

/**
 * One upsert: a new id (or one whose entry expired) is stored with its digest; a known id with the same digest
 * keeps the later expiry; a known id with another digest is left alone. The row says whether the digest matches
 * (an entry from before digests were kept has none, and counts as a conflict, as every repeat did then).
 */
const REMEMBER = sql<
  { accepted: boolean },
  [callerId: string, messageId: string, bodyDigest: string, windowSeconds: number]
>(
  'replay_remember',
  `INSERT INTO replay_guard (caller_id, message_id, body_digest, expires_at)
   VALUES ($1, $2, $3, now() + make_interval(secs => $4))
   ON CONFLICT (caller_id, message_id) DO UPDATE SET
     body_digest = CASE WHEN replay_guard.expires_at < now() THEN EXCLUDED.body_digest
       ELSE replay_guard.body_digest END,
     expires_at = CASE WHEN replay_guard.expires_at < now() THEN EXCLUDED.expires_at
       WHEN replay_guard.body_digest = EXCLUDED.body_digest
         THEN greatest(replay_guard.expires_at, EXCLUDED.expires_at)
       ELSE replay_guard.expires_at END
   RETURNING body_digest IS NOT DISTINCT FROM $3 AS accepted`,
);

const PURGE = sql<{ purged: 1 }, [limit: number]>(
  'replay_purge',
  `DELETE FROM replay_guard WHERE ctid IN (SELECT ctid FROM replay_guard WHERE expires_at < now() LIMIT $1)
   RETURNING 1 AS purged`,
);

const PURGE_INTERVAL_MS = 60_000;

/** Replay window in PostgreSQL: one upsert per signed request, shared by every replica. */
@Injectable()
export class PostgresReplayStore extends ReplayStore implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PostgresReplayStore.name);
  private purgeTimer?: NodeJS.Timeout;

  constructor(private readonly pool: DatabasePool) {
    super();
  }

  async remember(
    callerId: string,
    messageId: string,
    bodyDigest: string,
    windowSeconds: number,
  ): Promise<ReplayVerdict> {
    const [row] = await this.pool.run(REMEMBER, [callerId, messageId, bodyDigest, windowSeconds]);
    return row?.accepted ? 'accepted' : 'conflict';
  }

  onModuleInit(): void {
    this.purgeTimer = setInterval(() => void this.purge(), PURGE_INTERVAL_MS);
    this.purgeTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.purgeTimer);
  }

  /** Deletes the entries whose window has passed, in batches; returns how many. */
  async purge(): Promise<number> {
    try {
      return await purgeInBatches(async (limit) => (await this.pool.run(PURGE, [limit])).length);
    } catch (error: unknown) {
      this.logger.warn(`Could not purge expired replay entries: ${String(error)}`);
      return 0;
    }
  }
}
