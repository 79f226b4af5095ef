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
