import type { FulfillmentRequest } from './fulfillment-request';
import type { FulfillmentResult } from './fulfillment-result';

/** The session parameter (and follow-up event parameter) that names a result still being worked on. */
export const PENDING_FULFILLMENT_PARAMETER = 'pendingFulfillmentId';

/**
 * Keeps the result of work that outlived its deadline, so a later turn (or a poll) can fetch it.
 * Provided by the async module; without it the late result is only logged.
 */
export abstract class DeferredResults {
  /** Records the running work and returns its id; the store follows `work` to completion by itself. */
  abstract defer(
    request: Omit<FulfillmentRequest, 'signal' | 'deadline'>,
    work: Promise<FulfillmentResult>,
  ): Promise<string>;
}
