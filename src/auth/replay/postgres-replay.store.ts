import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DatabasePool } from '../../database/database-pool';
import { sql } from '../../database/sql';
import { ReplayStore } from './replay-store';

/** Returns a row when the id is new in the window (or its earlier sighting expired). */
const REMEMBER = sql<{ remembered: 1 }, [callerId: string, messageId: string, windowSeconds: number]>(
  'replay_remember',
  `INSERT INTO replay_guard (caller_id, message_id, expires_at)
   VALUES ($1, $2, now() + make_interval(secs => $3))
   ON CONFLICT (caller_id, message_id) DO UPDATE SET expires_at = EXCLUDED.expires_at
     WHERE replay_guard.expires_at < now()
   RETURNING 1 AS remembered`,
);

const PURGE = sql<never, []>('replay_purge', 'DELETE FROM replay_guard WHERE expires_at < now()');

const PURGE_INTERVAL_MS = 60_000;

/** Replay window in PostgreSQL: one upsert per signed request, shared by every replica. */
@Injectable()
export class PostgresReplayStore extends ReplayStore implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PostgresReplayStore.name);
  private purgeTimer?: NodeJS.Timeout;

  constructor(private readonly pool: DatabasePool) {
    super();
  }

  async remember(callerId: string, messageId: string, windowSeconds: number): Promise<boolean> {
    const rows = await this.pool.run(REMEMBER, [callerId, messageId, windowSeconds]);
    return rows.length === 1;
  }

  onModuleInit(): void {
    this.purgeTimer = setInterval(() => void this.purge(), PURGE_INTERVAL_MS);
    this.purgeTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.purgeTimer);
  }

  private async purge(): Promise<void> {
    try {
      await this.pool.run(PURGE, []);
    } catch (error: unknown) {
      this.logger.warn(`Could not purge expired replay entries: ${String(error)}`);
    }
  }
}
