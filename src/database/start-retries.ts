import { setTimeout as sleep } from 'node:timers/promises';
import { isConnectionError } from './connection-errors';

/** Attempts of a start-up step (a database that starts alongside the service may take a moment). */
export const START_ATTEMPTS = 3;

/**
 * Runs a start-up step again, up to START_ATTEMPTS times in all, while it fails because PostgreSQL was lost (out of
 * reach, or a session the server ended between two steps, e.g. `idle_session_timeout`); any other failure is thrown
 * at once. `onRetry` hears of each failure tried again, and the next attempt comes `retryMs` later.
 */
export async function retryLostConnection<T>(
  work: () => Promise<T>,
  { retryMs = 0, onRetry }: { retryMs?: number; onRetry?: (error: unknown, attempt: number) => void } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error: unknown) {
      if (attempt >= START_ATTEMPTS || !isConnectionError(error)) throw error;
      onRetry?.(error, attempt);
      if (retryMs > 0) await sleep(retryMs);
    }
  }
}
