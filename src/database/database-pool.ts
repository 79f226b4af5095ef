import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, QueryResultRow } from 'pg';
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
}
