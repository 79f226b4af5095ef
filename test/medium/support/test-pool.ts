import { Pool, PoolConfig } from 'pg';

/**
 * A pg `Pool` for arranging and checking rows, which drops an idle connection the server ends, as the service's
 * pools do. Without a listener pg-pool throws that error at whatever test runs then: a database dropped `WITH
 * (FORCE)` while a just-ended connection's goodbye is still on its way answers it with a FATAL (57P01).
 */
export function testPool(config: PoolConfig): Pool {
  const pool = new Pool(config);
  pool.on('error', () => undefined);
  return pool;
}
