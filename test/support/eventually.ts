import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Calls `check` until it returns without throwing (e.g. its `expect`s pass) and resolves with its value;
 * after `timeoutMs` rejects with the last failure, so the test reports what was still wrong.
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error: unknown) {
      if (Date.now() >= until) throw error;
    }
    await sleep(intervalMs);
  }
}

/** Polls `probe` until it returns a value (undefined means "not yet"). */
export function untilDefined<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  return eventually(
    async () => {
      const value = await probe();
      if (value === undefined) throw new Error('condition not met in time');
      return value;
    },
    timeoutMs,
    100,
  );
}
