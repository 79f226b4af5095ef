import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../config';
import { isConnectionError } from './connection-errors';
import { DatabasePool } from './database-pool';
import { sql } from './sql';

const PROBE_TIMEOUT_MS = 2000;
const PING = sql<{ one: 1 }, []>('database_ping', 'SELECT 1 AS one');

/**
 * Whether PostgreSQL can be reached, as last seen. A request that fails with a connection error marks it
 * unreachable; from then on turns get the degraded reply at once (no waiting on dead connections) and a
 * probe runs `SELECT 1` every DB_PROBE_INTERVAL_MS until the server answers again.
 */
@Injectable()
export class DatabaseAvailability implements OnModuleDestroy {
  private readonly logger = new Logger(DatabaseAvailability.name);
  private available = true;
  private probeTimer?: NodeJS.Timeout;
  private downSince?: number;
  private stopped = false;

  constructor(
    private readonly pool: DatabasePool,
    private readonly config: AppConfig,
  ) {}

  get isAvailable(): boolean {
    return this.available;
  }

  /** Marks the database unreachable when `error` is a connection error; returns whether it was one. */
  report(error: unknown): boolean {
    if (!isConnectionError(error)) return false;
    this.markDown(error);
    return true;
  }

  /** One real round trip, bounded in time; updates the state either way. */
  async check(): Promise<boolean> {
    try {
      await this.ping();
      this.markUp();
      return true;
    } catch (error: unknown) {
      this.markDown(error);
      return false;
    }
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearTimeout(this.probeTimer);
  }

  private async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error('probe timed out'), { code: 'ETIMEDOUT' })),
        PROBE_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([this.pool.run(PING, []), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private markDown(error: unknown): void {
    if (this.available) {
      this.available = false;
      this.downSince = Date.now();
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.error(`PostgreSQL is unreachable (${reason}): answering turns with the degraded reply`);
    }
    this.scheduleProbe();
  }

  private markUp(): void {
    if (this.available) return;
    this.available = true;
    this.logger.log(`PostgreSQL is reachable again after ${Date.now() - (this.downSince ?? Date.now())} ms`);
    this.downSince = undefined;
  }

  private scheduleProbe(): void {
    if (this.probeTimer || this.stopped) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      void this.check();
    }, this.config.degraded.probeIntervalMs);
    this.probeTimer.unref();
  }
}
