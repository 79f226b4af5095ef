/** Replies the dispatcher gives when no handler answers normally. */
export abstract class FulfillmentOptions {
  abstract readonly fallbackText: string;
  abstract readonly errorText: string;
  abstract readonly interimText: string;
  /** How long work whose result is kept may go on after its deadline before its signal is aborted. */
  abstract readonly lateWorkTimeoutMs?: number;
}
