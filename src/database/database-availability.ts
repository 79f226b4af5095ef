import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../config';
import { isConnectionError, type Unavailable, serverRefusal, UNREACHABLE } from './connection-errors';
import { DatabaseProbe } from './database-probe';
import { PgPools } from './pg-pools';

/** Distinct reasons logged in one outage, at most (a reason carrying a changing detail must not log every probe). */
const MAX_REASONS_LOGGED = 5;
/** Late statements (a lock wait, a slow report, a path gone silent) make the probe check at most this often. */
const LATE_CHECK_INTERVAL_MS = 1000;

/**
 * Whether PostgreSQL can be reached, as last seen. Only connection failures count: a full pool or a slow
 * statement is back-pressure, not an outage. A turn that fails with a connection error makes the probe
 * check at once on its own connection (one terminated backend is not an outage); when the probe fails too,
 * turns get the degraded reply at once (no waiting on dead connections) and the probe runs every
 * DB_PROBE_INTERVAL_MS until the server answers again.
 *
 * A statement unanswered for a while (`LATE_ANSWER_MS`) makes the probe check too, at most once a second: a path
 * that went silent fails no statement until the read timeout, and the probe's verdict gives up every connection
 * on it (`PgPools.serverSilent`) seconds before that.
 */
@Injectable()
export class DatabaseAvailability implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DatabaseAvailability.name);
  private available = true;
  private probeTimer?: NodeJS.Timeout;
  private downSince?: number;
  private stopped = false;
  /** The reasons logged during this outage: each once. */
  private readonly reasonsSeen = new Set<string>();
  private lastLateCheck = 0;

  constructor(
    private readonly probe: DatabaseProbe,
    private readonly config: AppConfig,
    pools: PgPools,
  ) {
    pools.onStatementLate(() => this.statementLate());
  }

  /**
   * Opens the probe's connection while the process starts, so that the first readiness check costs one round
   * trip like every later one, not a connection set-up within the probe's timeout on a busy node. Not awaited:
   * start-up does not wait for it (a readiness check meanwhile shares the same round trip).
   */
  onApplicationBootstrap(): void {
    void this.check();
  }

  get isAvailable(): boolean {
    return this.available;
  }

  /**
   * How the turn that got `error` should be answered, if the error is the database's and not the turn's: a
   * connection error (then the probe decides at once whether the database is down for everyone), or a statement
   * refused by a reachable server for a passing reason (which says nothing about the others: the database stays
   * available). Undefined for any other error.
   */
  report(error: unknown): Unavailable | undefined {
    const refusal = serverRefusal(error);
    if (refusal) return refusal;
    if (!isConnectionError(error)) return undefined;
    if (this.available) void this.check();
    return { outcome: 'degraded', why: UNREACHABLE };
  }

  /** One real round trip on the probe's own connection, bounded in time; updates the state either way. */
  async check(): Promise<boolean> {
    try {
      await this.probe.ping();
      this.markUp();
      return true;
    } catch (error: unknown) {
      // Closing down: the probe's connection was closed under it, which says nothing about the server.
      if (!this.stopped) this.markDown(error);
      return false;
    }
  }

  /** A statement has gone unanswered for a while: while PostgreSQL is taken for reachable, the probe checks. */
  private statementLate(): void {
    if (!this.available || this.stopped) return;
    const now = Date.now();
    if (now - this.lastLateCheck < LATE_CHECK_INTERVAL_MS) return;
    this.lastLateCheck = now;
    void this.check();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearTimeout(this.probeTimer);
  }

  private markDown(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    if (this.available) {
      this.available = false;
      this.downSince = Date.now();
      this.logger.error(`PostgreSQL is unreachable (${reason}): answering turns with the degraded reply`);
    } else if (!this.reasonsSeen.has(reason) && this.reasonsSeen.size < MAX_REASONS_LOGGED) {
      // The first error of an outage may be its symptom (a connection ended under us); what the probe meets when it
      // connects again names the cause (credentials revoked, the database gone, the server refusing connections).
      this.logger.warn(`PostgreSQL is still unreachable, now: ${reason}`);
    }
    this.reasonsSeen.add(reason);
    this.scheduleProbe();
  }

  private markUp(): void {
    if (this.available) return;
    this.available = true;
    this.reasonsSeen.clear();
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
