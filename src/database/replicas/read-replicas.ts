import { Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import * as pg from 'pg';
import { AppConfig } from '../../config';
import { Metrics } from '../../observability/metrics';
import { APPLICATION_NAME, CONNECT_TIMEOUT_MS } from '../data-source-options';
import { readTimeoutMs } from '../guarded-client';
import { PgPools } from '../pg-pools';
import { TracedClient } from '../query-span';
import { hasReached, type PrimarySample, replayLagMs, walPosition } from './wal-position';

/**
 * A replica's connection. pg emits 'error' on the client when its connection is lost (the replica restarting, a
 * reset, a proxy closing it), and pg-pool listens only while the client is idle in the pool: lost while checked
 * out for a read, the event had no listener and ended the process. The read itself fails all the same (its query is
 * rejected) and falls back to the primary.
 */
export class ReplicaClient extends TracedClient {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}

/** How many primary positions are kept to date a replica's replay position (one per check). */
const PRIMARY_SAMPLES = 600;
const DOWN_LOG_INTERVAL_MS = 10_000;

export interface ReplicaState {
  /** host:port/database, never credentials. */
  readonly name: string;
  readonly up: boolean;
  /** Up, replaying, and within REPLICA_MAX_LAG_MS: it may be given reads. */
  readonly readable: boolean;
  /** How far its replay is behind the primary, in ms (as of the last check); undefined while unknown. */
  readonly lagMs?: number;
  readonly replayed?: string;
  readonly error?: string;
}

interface Replica {
  readonly name: string;
  readonly pool: pg.Pool;
  up: boolean;
  replayed?: string;
  lagMs?: number;
  error?: string;
  reads: number;
  checking: boolean;
  loggedDownAt: number;
}

export function replicaName(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
}

/**
 * The read replicas (DATABASE_REPLICA_URLS). Every REPLICA_CHECK_INTERVAL_MS each one is asked how far it has
 * replayed, and the primary where its WAL is; a replica's lag is how long ago the primary was at a position the
 * replica has not replayed yet (so an idle primary never makes a replica look late). A replica that is down, not
 * in recovery, or more than REPLICA_MAX_LAG_MS behind gets no reads until a later check finds it well.
 */
@Injectable()
export class ReadReplicas implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ReadReplicas');
  private readonly replicas: Replica[];
  private readonly primarySamples: PrimarySample[] = [];
  private timer?: NodeJS.Timeout;
  private next = 0;
  private primaryReads = { noReplica: 0, behindWrite: 0, replicaFailed: 0 };

  constructor(
    private readonly config: AppConfig,
    private readonly pools: PgPools,
    @Optional() metrics?: Metrics,
  ) {
    const { urls } = config.database.replicas;
    this.replicas = urls.map((url) => {
      const pool = new pg.Pool({
        Client: ReplicaClient,
        connectionString: url,
        max: config.database.poolSize,
        application_name: APPLICATION_NAME,
        statement_timeout: config.database.statementTimeoutMs,
        query_timeout: readTimeoutMs(config.database),
        connectionTimeoutMillis: Math.min(CONNECT_TIMEOUT_MS, 2000),
        keepAlive: true,
      });
      pool.on('error', () => undefined);
      return { name: replicaName(url), pool, up: false, reads: 0, checking: false, loggedDownAt: 0 };
    });
    if (metrics && this.replicas.length > 0) this.registerMetrics(metrics);
  }

  get configured(): boolean {
    return this.replicas.length > 0;
  }

  onModuleInit(): void {
    if (!this.configured) return;
    this.timer = setInterval(() => void this.check(), this.config.database.replicas.checkIntervalMs);
    this.timer.unref();
    void this.check();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.replicas.map((replica) => replica.pool.end().catch(() => undefined)));
  }

  /**
   * A replica to read from: up, within REPLICA_MAX_LAG_MS, and (when the scope was written) replayed past that
   * write. Undefined sends the read to the primary.
   */
  choose(writtenAt?: string): { pool: pg.Pool; name: string } | undefined {
    let behindWrite = false;
    for (let tried = 0; tried < this.replicas.length; tried++) {
      const replica = this.replicas[(this.next + tried) % this.replicas.length];
      if (!this.readable(replica) || replica.replayed === undefined) continue;
      if (writtenAt !== undefined && !hasReached(replica.replayed, writtenAt)) {
        behindWrite = true;
        continue;
      }
      this.next = (this.next + tried + 1) % this.replicas.length;
      replica.reads++;
      return { pool: replica.pool, name: replica.name };
    }
    if (behindWrite) this.primaryReads.behindWrite++;
    else this.primaryReads.noReplica++;
    return undefined;
  }

  /** A read on the replica failed on its connection: no more reads until a check finds it well. */
  failed(name: string, error: unknown): void {
    const replica = this.replicas.find((candidate) => candidate.name === name);
    if (!replica) return;
    this.primaryReads.replicaFailed++;
    this.markDown(replica, error);
  }

  states(): ReplicaState[] {
    return this.replicas.map((replica) => {
      const { name, up, lagMs, replayed, error } = replica;
      return { name, up, readable: this.readable(replica), lagMs, replayed, error };
    });
  }

  private readable(replica: Replica): boolean {
    return (
      replica.up &&
      replica.replayed !== undefined &&
      (replica.lagMs ?? Infinity) <= this.config.database.replicas.maxLagMs
    );
  }

  /**
   * The primary's WAL position now: a committed write is at or before it. The insert position, not the write
   * position (`pg_current_wal_lsn`): with asynchronous commit (`synchronous_commit = off`, per role or transaction)
   * a commit record may still be in the WAL buffers, past the write position, and a replica that had replayed up
   * to it would be taken for one that has the write.
   */
  async primaryPosition(): Promise<string> {
    const { rows } = await this.pools.primary.query<{ position: string }>(
      'SELECT pg_current_wal_insert_lsn()::text AS position',
    );
    return rows[0].position;
  }

  private async check(): Promise<void> {
    if (!this.pools.started) return;
    try {
      const position = await this.primaryPosition();
      this.primarySamples.push({ at: Date.now(), position: walPosition(position) });
      if (this.primarySamples.length > PRIMARY_SAMPLES) this.primarySamples.shift();
    } catch {
      // No new sample: a replica caught up with the last one reads as lagging by that sample's age (see lagOf).
    }
    await Promise.all(this.replicas.map((replica) => this.checkReplica(replica)));
  }

  private async checkReplica(replica: Replica): Promise<void> {
    if (replica.checking) return;
    replica.checking = true;
    try {
      const { rows } = await replica.pool.query<{ recovering: boolean; replayed: string | null }>(
        'SELECT pg_is_in_recovery() AS recovering, pg_last_wal_replay_lsn()::text AS replayed',
      );
      const [{ recovering, replayed }] = rows;
      if (!recovering || replayed === null) {
        this.markDown(replica, new Error('not a replica in recovery (promoted, or not a standby)'));
        return;
      }
      replica.replayed = replayed;
      replica.lagMs = this.lagOf(walPosition(replayed));
      if (!replica.up) this.logger.log(`Replica ${replica.name} is back: reads go to it again`);
      replica.up = true;
      replica.error = undefined;
    } catch (error: unknown) {
      this.markDown(replica, error);
    } finally {
      replica.checking = false;
    }
  }

  /**
   * How long ago the primary first stood at a position past `replayed`: 0 when the replica has all of the newest
   * sample, as long as that sample is recent (a few checks old at most).
   */
  private lagOf(replayed: bigint): number | undefined {
    const { maxLagMs, checkIntervalMs } = this.config.database.replicas;
    return replayLagMs(this.primarySamples, replayed, Date.now(), Math.max(maxLagMs, 3 * checkIntervalMs));
  }

  private markDown(replica: Replica, error: unknown): void {
    replica.error = error instanceof Error ? error.message : String(error);
    if (replica.up || Date.now() - replica.loggedDownAt > DOWN_LOG_INTERVAL_MS) {
      replica.loggedDownAt = Date.now();
      this.logger.warn(`Replica ${replica.name} gets no reads: ${replica.error}`);
    }
    replica.up = false;
  }

  private registerMetrics(metrics: Metrics): void {
    metrics.gauge(
      'db_replica_up',
      'Whether a read replica is reachable and replaying (1) or skipped (0)',
      (observe) => {
        for (const replica of this.replicas) observe(replica.up ? 1 : 0, { replica: replica.name });
      },
    );
    metrics.gauge('db_replica_lag_seconds', "How far a read replica's replay is behind the primary", (observe) => {
      for (const replica of this.replicas) {
        if (replica.lagMs !== undefined) observe(replica.lagMs / 1000, { replica: replica.name });
      }
    });
    metrics.cumulative('db_replica_reads_total', 'Reads that tolerate lag, by where they went', (observe) => {
      for (const replica of this.replicas) observe(replica.reads, { target: replica.name, reason: 'replica' });
      observe(this.primaryReads.noReplica, { target: 'primary', reason: 'no_healthy_replica' });
      observe(this.primaryReads.behindWrite, { target: 'primary', reason: 'behind_write' });
      observe(this.primaryReads.replicaFailed, { target: 'primary', reason: 'replica_failed' });
    });
  }
}
