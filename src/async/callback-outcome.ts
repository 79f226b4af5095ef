/** What one delivery attempt's answer means for the delivery. */
export type AttemptVerdict =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'retry'; readonly retryAfterMs?: number }
  | { readonly kind: 'dead' }
  | { readonly kind: 'disable' };

/**
 * 2xx delivered; 410 Gone disables the callback; other 4xx (but 408 and 429) are permanent; everything
 * else, including 3xx (redirects are never followed) and 5xx, is retried, after `Retry-After` when given.
 */
export function verdictFor(status: number, retryAfterMs?: number): AttemptVerdict {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 410) return { kind: 'disable' };
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { kind: 'dead' };
  return retryAfterMs === undefined ? { kind: 'retry' } : { kind: 'retry', retryAfterMs };
}

/** The longest `Retry-After` a receiver gets: a day (the default retry horizon), not a year or an invalid date. */
export const RETRY_AFTER_LIMIT_MS = 24 * 3_600_000;

/**
 * The most a delivery's waits between attempts add up to: the retry horizon, or the schedule's own span when that
 * is longer, and never less than the longest single `Retry-After` honoured (a day).
 */
export function retryWaitLimitMs(schedule: readonly number[], horizonMs: number): number {
  return Math.max(
    horizonMs,
    RETRY_AFTER_LIMIT_MS,
    schedule.reduce((sum, step) => sum + step, 0),
  );
}

/**
 * The wait before retry number `retry`, given the waits so far (`waitedMs`) and their `limitMs`: a receiver
 * answering `Retry-After: 86400` every time kept a delivery pending for 28 days. Undefined when the schedule is
 * used up or the receiver asks for a wait that takes the total past the limit; a step our jitter takes past it is
 * shortened to end there, as the last.
 */
export function nextRetryWait(
  schedule: readonly number[],
  retry: number,
  waitedMs: number,
  limitMs: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number | undefined {
  const delay = retryDelay(schedule, retry, retryAfterMs, random);
  const left = limitMs - waitedMs;
  if (delay === undefined || left <= 0) return undefined;
  if (delay <= left) return delay;
  if (retryAfterMs !== undefined && Math.min(retryAfterMs, RETRY_AFTER_LIMIT_MS) > left) return undefined;
  return left;
}

/**
 * The delay before retry number `retry` (1-based): the schedule's step with ±20 % jitter, at least the
 * receiver's `Retry-After` up to RETRY_AFTER_LIMIT_MS; undefined when the schedule is used up.
 */
export function retryDelay(
  schedule: readonly number[],
  retry: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number | undefined {
  const step = schedule[retry - 1];
  if (step === undefined) return undefined;
  const jittered = Math.round(step * (0.8 + 0.4 * random()));
  if (retryAfterMs === undefined) return jittered;
  return Math.max(jittered, Math.min(retryAfterMs, RETRY_AFTER_LIMIT_MS));
}
