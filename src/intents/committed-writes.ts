import { Injectable } from '@nestjs/common';
import { type CacheScope, scopeKey } from '../cache/cache-keys';
import { ReadThroughCache } from '../cache/read-through-cache';
import { DatabasePool } from '../database/database-pool';

/**
 * What a repository does once a write has committed (never before): reads of the scopes it changed go to the
 * primary until a read replica has replayed the write, and their cached entries go, here and in every service
 * replica (which learn the write's WAL position with the invalidation). Awaited before the turn is answered.
 */
@Injectable()
export class CommittedWrites {
  constructor(
    private readonly pool: DatabasePool,
    private readonly cache: ReadThroughCache,
  ) {}

  async committed(...scopes: CacheScope[]): Promise<void> {
    const position = await this.pool.noteWrite(scopes.map(scopeKey));
    await this.cache.invalidate(scopes, position);
  }
}

/** The scope of a read that may go to a read replica: it sees its scope's own writes. */
export function lagTolerant(scope: CacheScope): { scope: string } {
  return { scope: scopeKey(scope) };
}

/**
 * A customer (the bot's user id): their accounts and balances, which transfers change and invalidate after
 * commit, and their orders.
 */
export const customerScope = (customerNumber: string): CacheScope => ({ kind: 'customer', id: customerNumber });
