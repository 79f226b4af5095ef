import type { FulfillmentRequest } from './fulfillment-request';
import type { FulfillmentResult } from './fulfillment-result';

/** The contract every `@IntentHandler` class implements. */
export interface FulfillmentHandler {
  handle(request: FulfillmentRequest): Promise<FulfillmentResult>;
}
