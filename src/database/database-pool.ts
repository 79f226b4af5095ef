import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { DataSource } from 'typeorm';

/**
 * Direct access to the pg pool that TypeORM manages (same connections, limits and timeouts), for the few
 * hottest reads where building a query runner per call costs more than the query. Statements are named so
 * PostgreSQL parses and plans them once per connection.
 */
@Injectable()
export class DatabasePool {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async query<Row extends QueryResultRow>(name: string, text: string, values: unknown[]): Promise<Row[]> {
    const pool = (this.dataSource.driver as unknown as { master: Pool }).master;
    const result = await pool.query<Row>({ name, text, values });
    return result.rows;
  }

  /** Runs `work` in one transaction on one connection (committed when it resolves, rolled back if it throws). */
  async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const pool = (this.dataSource.driver as unknown as { master: Pool }).master;
    const client = await pool.connect();
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
