import { DiscoveryService } from '@nestjs/core';

/** A store of rows that expire; the retention job (src/async) deletes them in batches, on one replica at a time. */
export interface ExpiringRows {
  /** Deletes up to `limit` expired rows; returns how many. */
  purgeExpired(limit: number): Promise<number>;
}

/**
 * Marks a provider whose rows expire, under the name the retention job reports them by. The job finds every such
 * provider at start-up, so a store needs no import of the job (and the job none of the store).
 */
export const PurgesExpiredRows = DiscoveryService.createDecorator<string>();

/**
 * Rows one purge statement deletes at most. A purge runs under the service's `statement_timeout` like any other
 * statement; one DELETE of a whole backlog (the purge stopped for a day, then a table of millions of expired rows)
 * would fail at it every time, and the table would never shrink again.
 */
export const PURGE_BATCH = 5000;

/** Runs `purgeBatch` until a batch deletes fewer than `PURGE_BATCH` rows; returns how many were deleted in all. */
export async function purgeInBatches(purgeBatch: (limit: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (let purged = PURGE_BATCH; purged === PURGE_BATCH; total += purged) purged = await purgeBatch(PURGE_BATCH);
  return total;
}
