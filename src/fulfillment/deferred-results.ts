import type { FulfillmentRequest } from './fulfillment-request';
import type { FulfillmentResult } from './fulfillment-result';

/** The session parameter (and follow-up event parameter) that names a result still being worked on. */
export const PENDING_FULFILLMENT_PARAMETER = 'pendingFulfillmentId';

/**
 * Keeps the result of work that outlived its deadline, so a later turn (or a poll) can fetch it.
 * Provided by the async module; without it the late result is only logged.
 */
export abstract class DeferredResults {
  /**
   * Returns the id under which the running work's result will be found, at once: the record is written in
   * the background (a reply never waits on a database write), and the store follows `work` to completion.
   */
  abstract defer(request: Omit<FulfillmentRequest, 'signal' | 'deadline'>, work: Promise<FulfillmentResult>): string;
}
