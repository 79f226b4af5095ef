import { Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { DataSource } from 'typeorm';
import { Metrics } from '../observability/metrics';

/**
 * Direct access to the pg pool that TypeORM manages (same connections, limits and timeouts), for the few
 * hottest reads where building a query runner per call costs more than the query. Statements are named so
 * PostgreSQL parses and plans them once per connection.
 */
@Injectable()
export class DatabasePool {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Optional() metrics?: Metrics,
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
   * With `signal` (a handler's `request.signal`), an abort cancels the running statement on the server
   * (`pg_cancel_backend`) and rejects with the signal's reason; the connection goes back to the pool intact.
   */
  async query<Row extends QueryResultRow>(
    name: string,
    text: string,
    values: unknown[],
    signal?: AbortSignal,
  ): Promise<Row[]> {
    const pool = this.pool();
    if (!signal) return (await pool.query<Row>({ name, text, values })).rows;
    signal.throwIfAborted();
    const client = await pool.connect();
    const processId = (client as unknown as { processID?: number }).processID;
    const cancel = (): void => {
      if (processId !== undefined) {
        pool.query('SELECT pg_cancel_backend($1)', [processId]).catch(() => undefined);
      }
    };
    signal.addEventListener('abort', cancel, { once: true });
    try {
      return (await client.query<Row>({ name, text, values })).rows;
    } catch (error: unknown) {
      // 57014 query_canceled: report why, not PostgreSQL's "canceling statement due to user request".
      if (signal.aborted && (error as { code?: unknown }).code === '57014') throw signal.reason;
      throw error;
    } finally {
      signal.removeEventListener('abort', cancel);
      client.release();
    }
  }

  private pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  /** The pool's connections by state, and the callers waiting for one (the db_pool_connections gauge). */
  connectionCounts(): { inUse: number; idle: number; waiting: number } | undefined {
    const pool = this.dataSource.isInitialized ? this.pool() : undefined;
    if (!pool) return undefined;
    return { inUse: pool.totalCount - pool.idleCount, idle: pool.idleCount, waiting: pool.waitingCount };
  }

  /** Runs `work` in one transaction on one connection (committed when it resolves, rolled back if it throws). */
  async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool().connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error: unknown) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
