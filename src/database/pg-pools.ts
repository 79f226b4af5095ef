import { Injectable, Module } from '@nestjs/common';
import * as pg from 'pg';

/**
 * The PostgreSQL connection pools of the process. TypeORM creates the pool (its documented `driver` option
 * takes the pg module to use): the one it gets has a Pool class that hands each new pool over here, so our
 * own statements share TypeORM's connections, limits and timeouts without reaching into its internals.
 */
@Injectable()
export class PgPools {
  private primaryPool?: pg.Pool;

  /** Pools made without TypeORM (a command-line tool, the medium tests). */
  static of(primary: pg.Pool): PgPools {
    const pools = new PgPools();
    pools.primaryPool = primary;
    return pools;
  }

  /** The pg module for TypeORM's `driver` option. */
  driver(): typeof pg {
    const register = (pool: pg.Pool): void => {
      this.primaryPool = pool;
    };
    class RegisteredPool extends pg.Pool {
      constructor(options?: pg.PoolConfig) {
        super(options);
        register(this);
      }
    }
    return { ...pg, Pool: RegisteredPool };
  }

  get primary(): pg.Pool {
    if (!this.primaryPool) throw new Error('the PostgreSQL pool is not created yet (TypeORM has not started)');
    return this.primaryPool;
  }

  get started(): boolean {
    return this.primaryPool !== undefined;
  }
}

@Module({ providers: [PgPools], exports: [PgPools] })
export class PgPoolsModule {}
