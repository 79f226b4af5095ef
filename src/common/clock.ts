import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Time as the service's logic sees it: what time it is, and waiting. Injected, so that logic that polls or
 * waits out a lease is tested by moving a test clock instead of sleeping.
 */
export abstract class Clock {
  /** Milliseconds since the epoch. */
  abstract now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
  abstract sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleep(ms, undefined, { signal });
  }
}
