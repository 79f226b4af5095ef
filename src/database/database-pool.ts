import { Injectable, Optional } from '@nestjs/common';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { sendCancelRequest } from './cancel-request';
import { UNKNOWN_POSITION } from '../common/write-position';
import { Metrics } from '../observability/metrics';
import { isStalePlan, isUnusableConnection, raisedBeforeCommit } from './connection-errors';
import type { GuardedClientClass } from './guarded-client';
import { PgPools } from './pg-pools';
import { ReadReplicas } from './replicas/read-replicas';
import { WriteMarks } from './replicas/write-marks';
import { runOn, type SqlStatement, type SqlTransaction, transactionOn } from './sql';

/** A read that may be answered by a replica: the scope whose own writes it must see (read-your-writes). */
export interface LagTolerantRead {
  readonly scope: string;
}

/**
 * Runs the service's SQL statements (`sql()`) on the pg pool that TypeORM manages (same connections, limits
 * and timeouts). Statements are named so PostgreSQL parses and plans them once per connection. Reads declared
 * lag-tolerant go to a read replica when one is healthy and has replayed the scope's last write.
 */
@Injectable()
export class DatabasePool {
  private readonly marks = new WriteMarks();

  constructor(
    private readonly pools: PgPools,
    @Optional() metrics?: Metrics,
    @Optional() private readonly replicas?: ReadReplicas,
  ) {
    metrics?.gauge(
      'db_pool_connections',
      'PostgreSQL pool connections in use and idle, and callers waiting for one',
      (observe) => {
        const counts = this.connectionCounts();
        if (!counts) return;
        observe(counts.inUse, { state: 'in_use' });
        observe(counts.idle, { state: 'idle' });
        observe(counts.waiting, { state: 'waiting' });
      },
    );
  }

  /**
   * With `signal` (a handler's `request.signal`), an abort cancels the running statement on the server (a protocol
   * cancel request) and rejects with the signal's reason; the connection goes back to the pool intact. A statement
   * prepared on a connection before a migration changed what it returns is refused there before it runs: the
   * connection is dropped and the statement runs again, on another.
   */
  async run<Row extends QueryResultRow, Params extends readonly unknown[]>(
    statement: SqlStatement<Row, Params>,
    params: Readonly<Params>,
    signal?: AbortSignal,
    lagTolerant?: LagTolerantRead,
  ): Promise<Row[]> {
    if (lagTolerant && this.replicas?.configured) {
      const replica = this.replicas.choose(this.marks.of(lagTolerant.scope));
      if (replica) {
        try {
          return await this.runOnPool(replica.pool, statement, params, signal, true);
        } catch (error: unknown) {
          if (signal?.aborted) throw error;
          // A read is safe to repeat: the primary answers while the replica is skipped.
          this.replicas.failed(replica.name, error);
        }
      }
    }
    return this.againAfterStalePlans(() => this.runOnPool(this.pools.primary, statement, params, signal));
  }

  /**
   * `work` on the primary, run again while it meets a stale plan: each connection that prepared a statement before a
   * migration changed its result type refuses it once, and is dropped (see `isUnusableConnection`).
   */
  private async againAfterStalePlans<T>(work: () => Promise<T>): Promise<T> {
    const connections = (this.pools.primary.options as { max?: number }).max ?? 10;
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error: unknown) {
        if (!isStalePlan(error) || attempt > connections) throw error;
      }
    }
  }

  /** Whether reads that tolerate lag may go to read replicas (DATABASE_REPLICA_URLS). */
  get hasReadReplicas(): boolean {
    return this.replicas?.configured === true;
  }

  /**
   * Notes that a write to these scopes has committed: reads for them go to the primary until a replica has
   * replayed it. Returns the primary's WAL position, for the other service replicas (undefined without read
   * replicas, at no cost), `unknown` when it could not be read.
   */
  async noteWrite(scopes: readonly string[]): Promise<string | undefined> {
    if (!this.replicas?.configured) return undefined;
    try {
      const position = await this.replicas.primaryPosition();
      for (const scope of scopes) this.marks.note(scope, position);
      return position;
    } catch {
      // The other service replicas must not read the scopes from a lagging replica either: they are told so.
      for (const scope of scopes) this.marks.noteUnknown(scope);
      return UNKNOWN_POSITION;
    }
  }

  /**
   * A write another service replica made: its position came with the cache's invalidation, or with the scope's
   * generation in Redis (a WAL position, or `unknown`).
   */
  noteRemoteWrite(scopes: readonly string[], position: string): void {
    if (!this.replicas?.configured) return;
    for (const scope of scopes) this.marks.noteReported(scope, position);
  }

  /**
   * Runs on a client of its own when there is a signal to cancel it by. A replica's client that failed in any way
   * is not kept: a read timed out by `query_timeout` leaves its query unanswered on the connection (the primary's
   * guarded client sees to that itself).
   */
  private async runOnPool<Row extends QueryResultRow, Params extends readonly unknown[]>(
    pool: Pool,
    statement: SqlStatement<Row, Params>,
    params: Readonly<Params>,
    signal?: AbortSignal,
    discardOnFailure = false,
  ): Promise<Row[]> {
    if (!signal) return runOn(pool, statement, params);
    signal.throwIfAborted();
    const client = await pool.connect();
    // Aborted while it waited for the connection: an abort listener added now would never hear it, and the
    // statement of an abandoned turn would run in full.
    if (signal.aborted) {
      client.release();
      signal.throwIfAborted();
    }
    let cancelling: Promise<unknown> | undefined;
    const cancel = (): void => {
      cancelling = sendCancelRequest(client);
    };
    signal.addEventListener('abort', cancel, { once: true });
    let failure: unknown;
    try {
      return await runOn(client, statement, params);
    } catch (error: unknown) {
      failure = error;
      // 57014 query_canceled: report why, not PostgreSQL's "canceling statement due to user request".
      if (signal.aborted && (error as { code?: unknown }).code === '57014') throw signal.reason;
      throw error;
    } finally {
      signal.removeEventListener('abort', cancel);
      // The cancel names this backend: it must have landed before another statement can run there (it waits for a
      // connection of its own, and the statement may have finished meanwhile).
      if (cancelling) await cancelling;
      if (discardOnFailure && failure !== undefined) client.release(true);
      else releaseAfter(client, failure);
    }
  }

  /**
   * The guarded pg client class (no crash on a lost connection, no endless wait on a dead path) for a pool
   * of another library (pg-boss) that lets us pick its `Client`.
   */
  clientClass(readTimeoutMs: number): GuardedClientClass {
    return this.pools.clientClass(readTimeoutMs);
  }

  /** The pool's connections by state, and the callers waiting for one (the db_pool_connections gauge). */
  connectionCounts(): { inUse: number; idle: number; waiting: number } | undefined {
    if (!this.pools.started) return undefined;
    const pool = this.pools.primary;
    return { inUse: pool.totalCount - pool.idleCount, idle: pool.idleCount, waiting: this.pools.waiting };
  }

  /**
   * Runs `work` in one transaction on one connection (committed when it resolves, rolled back if it throws). A
   * connection that prepared one of its statements before a migration changed that statement's result type refuses
   * it (see `run`): it is dropped and the transaction run again, as nothing of it was committed.
   */
  async transaction<T>(work: (transaction: SqlTransaction) => Promise<T>): Promise<T> {
    return this.againAfterStalePlans(() => this.transactionOnce(work));
  }

  private async transactionOnce<T>(work: (transaction: SqlTransaction) => Promise<T>): Promise<T> {
    const client = await this.pools.primary.connect();
    let failure: unknown;
    try {
      let result: T;
      try {
        await client.query('BEGIN');
        result = await work(transactionOn(client));
      } catch (error: unknown) {
        throw raisedBeforeCommit(error);
      }
      await client.query('COMMIT');
      return result;
    } catch (error: unknown) {
      failure = error;
      if (!isUnusableConnection(error)) await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      releaseAfter(client, failure);
    }
  }
}

/**
 * A client whose connection failed, or whose server takes no writes, goes back with the error, so the pool
 * destroys it instead of reusing it. (pool.query does so after any error.)
 */
function releaseAfter(client: PoolClient, failure: unknown): void {
  client.release(isUnusableConnection(failure) ? (failure as Error) : undefined);
}
