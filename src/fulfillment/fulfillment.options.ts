/** Replies the dispatcher gives when no handler answers normally. */
export abstract class FulfillmentOptions {
  abstract readonly fallbackText: string;
  abstract readonly errorText: string;
  abstract readonly interimText: string;
}
