import { Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { Socket } from 'node:net';
import * as pg from 'pg';
import { startNoAnswerTimer } from '../../common/no-answer-timer';
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
 * rejected) and falls back to the primary. It owns its socket, so that it can be given up at once.
 */
export class ReplicaClient extends TracedClient {
  private readonly socket?: Socket;

  constructor(config?: string | pg.ClientConfig) {
    const options: pg.ClientConfig = typeof config === 'string' ? { connectionString: config } : { ...config };
    let socket: Socket | undefined;
    // pg calls the stream factory while constructing its connection, so the socket is known after super().
    options.stream ??= () => (socket = new Socket());
    super(options);
    this.socket = socket;
    this.on('error', () => undefined);
  }

  /** Ends the connection now with `error`: the read it is answering (or its opening) fails with it. */
  abandon(error: Error): void {
    this.socket?.destroy(error);
  }

  /** Ends the connection without the server's goodbye (a silent path never sends it). */
  destroy(): void {
    this.socket?.destroy();
  }
}

/** No answer to a replica's check in time: the path to it is taken for silent. */
export class ReplicaSilentError extends Error {
  readonly code = 'ETIMEDOUT';

  constructor(readonly waitedMs: number) {
    super(`no answer to the replica check within ${waitedMs} ms`);
    this.name = 'ReplicaSilentError';
  }
}

/**
 * How long a replica's check may go unanswered (a few ms when well). Past it the replica gets no reads, and the
 * reads waiting on its connections go to the primary: a path gone silent (a lost host, a black-holed route) answers
 * nothing and ends nothing, and the reads would otherwise wait out the read timeout.
 */
export const REPLICA_CHECK_TIMEOUT_MS = 1000;
/** How many primary positions are kept to date a replica's replay position (one per check). */
const PRIMARY_SAMPLES = 600;
const DOWN_LOG_INTERVAL_MS = 10_000;
const REPLAY_CHECK = 'SELECT pg_is_in_recovery() AS recovering, pg_last_wal_replay_lsn()::text AS replayed';

interface ReplayRow {
  readonly recovering: boolean;
  readonly replayed: string | null;
}

export interface ReplicaState {
  /** host:port/database, never credentials. */
  readonly name: string;
  readonly up: boolean;
  /** Up, replaying, and within REPLICA_MAX_LAG_MS: it may be given reads. */
  readonly readable: boolean;
  /** How far its replay is behind the primary, in ms (as of the last check); undefined while unknown or down. */
  readonly lagMs?: number;
  readonly replayed?: string;
  readonly error?: string;
}

interface Replica {
  readonly name: string;
  readonly url: string;
  readonly pool: pg.Pool;
  /** The pool's connections, open or opening. */
  readonly open: Set<ReplicaClient>;
  /** The checks' own connection: a full pool must not look like a silent replica. */
  checker?: ReplicaClient;
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
 * in recovery, or more than REPLICA_MAX_LAG_MS behind gets no reads until a later check finds it well; one that
 * leaves its check unanswered for REPLICA_CHECK_TIMEOUT_MS also gives up the reads waiting on it.
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
      const open = new Set<ReplicaClient>();
      const pool = new pg.Pool({
        Client: registeredIn(open),
        connectionString: url,
        max: config.database.poolSize,
        application_name: APPLICATION_NAME,
        statement_timeout: config.database.statementTimeoutMs,
        query_timeout: readTimeoutMs(config.database),
        connectionTimeoutMillis: Math.min(CONNECT_TIMEOUT_MS, 2000),
        keepAlive: true,
      });
      pool.on('error', () => undefined);
      return { name: replicaName(url), url, pool, open, up: false, reads: 0, checking: false, loggedDownAt: 0 };
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
    for (const replica of this.replicas) replica.checker?.destroy();
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
      const { recovering, replayed } = await this.askReplay(replica);
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
      if (error instanceof ReplicaSilentError) this.giveUpConnections(replica, error);
    } finally {
      replica.checking = false;
    }
  }

  /** The check's question, on the checks' own connection, answered within REPLICA_CHECK_TIMEOUT_MS. */
  private async askReplay(replica: Replica): Promise<ReplayRow> {
    let stopTimer = (): void => undefined;
    const silent = new Promise<never>((_, reject) => {
      stopTimer = startNoAnswerTimer(REPLICA_CHECK_TIMEOUT_MS, () =>
        reject(new ReplicaSilentError(REPLICA_CHECK_TIMEOUT_MS)),
      );
    });
    try {
      return await Promise.race([this.queryReplay(replica), silent]);
    } catch (error: unknown) {
      // Unanswered, it would answer this check's question to the next one: a new connection asks it.
      replica.checker?.destroy();
      replica.checker = undefined;
      throw error;
    } finally {
      stopTimer();
    }
  }

  private async queryReplay(replica: Replica): Promise<ReplayRow> {
    let checker = replica.checker;
    if (!checker) {
      checker = new ReplicaClient({
        connectionString: replica.url,
        application_name: `${APPLICATION_NAME}-replica-check`,
        connectionTimeoutMillis: REPLICA_CHECK_TIMEOUT_MS,
        keepAlive: true,
      });
      const opened = checker;
      replica.checker = opened;
      opened.once('end', () => {
        if (replica.checker === opened) replica.checker = undefined;
      });
      await opened.connect();
    }
    const answer: Promise<pg.QueryResult<ReplayRow>> = checker.query(REPLAY_CHECK);
    const { rows } = await answer;
    return rows[0];
  }

  /** Every read waiting on the replica's connections fails now (and goes to the primary); new ones are opened. */
  private giveUpConnections(replica: Replica, why: ReplicaSilentError): void {
    for (const client of replica.open) client.abandon(why);
    replica.open.clear();
  }

  /**
   * How long ago the primary first stood at a position past `replayed`: 0 when the replica has all of the newest
   * sample, as long as that sample is recent (a few checks old at most).
   */
  private lagOf(replayed: bigint): number | undefined {
    const { maxLagMs, checkIntervalMs } = this.config.database.replicas;
    return replayLagMs(this.primarySamples, replayed, Date.now(), Math.max(maxLagMs, 3 * checkIntervalMs));
  }

  /** Its lag is unknown from now on (NaN in db_replica_lag_seconds, none in readiness), not its last reading. */
  private markDown(replica: Replica, error: unknown): void {
    replica.lagMs = undefined;
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

/** The replica's pool's client class: each client is in `open` from its creation until its connection ends. */
function registeredIn(open: Set<ReplicaClient>): typeof ReplicaClient {
  return class RegisteredReplicaClient extends ReplicaClient {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      open.add(this);
      this.once('end', () => open.delete(this));
    }
  };
}
