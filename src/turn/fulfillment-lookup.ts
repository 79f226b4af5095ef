import { Injectable } from '@nestjs/common';
import { FulfillmentResults } from '../async/fulfillment-results';
import type { StoredFulfillment } from '../async/fulfillment-record.entity';

export type { StoredFulfillment };

/** How long a poll looks again for a fulfillment it does not find yet (its record may not have committed). */
const NOT_FOUND_GRACE_MS = 1000;

/**
 * The other half of a hand-off: what became of the work a turn deferred or handed to the queue, as the caller
 * that started it may see it (anyone else, or an unknown id, finds nothing).
 */
@Injectable()
export class FulfillmentLookup {
  constructor(private readonly results: FulfillmentResults) {}

  find(id: string, callerId: string): Promise<StoredFulfillment | undefined> {
    return this.results.findSoon(id, callerId, NOT_FOUND_GRACE_MS);
  }
}
