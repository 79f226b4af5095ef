import { nextRetryWait, RETRY_AFTER_LIMIT_MS, retryDelay, retryWaitLimitMs, verdictFor } from './callback-outcome';

const SCHEDULE = [5_000, 30_000, 3_600_000];
const noJitter = () => 0.5;

describe('retryDelay', () => {
  it("takes the schedule's step, with ±20 % jitter", () => {
    expect(retryDelay(SCHEDULE, 1, undefined, noJitter)).toBe(5_000);
    expect(retryDelay(SCHEDULE, 2, undefined, () => 0)).toBe(24_000);
    expect(retryDelay(SCHEDULE, 2, undefined, () => 1)).toBe(36_000);
  });

  it("waits at least the receiver's Retry-After", () => {
    expect(retryDelay(SCHEDULE, 1, 120_000, noJitter)).toBe(120_000);
    expect(retryDelay(SCHEDULE, 2, 1_000, noJitter)).toBe(30_000);
  });

  it('honours Retry-After up to a day: a year, or more than a date holds, is a day', () => {
    expect(retryDelay(SCHEDULE, 1, 86_400_000, noJitter)).toBe(86_400_000);
    expect(retryDelay(SCHEDULE, 1, 365 * 86_400_000, noJitter)).toBe(RETRY_AFTER_LIMIT_MS);
    const delay = retryDelay(SCHEDULE, 1, 9_999_999_999_999_000, noJitter) as number;
    expect(delay).toBe(RETRY_AFTER_LIMIT_MS);
    expect(Number.isNaN(new Date(Date.now() + delay).getTime())).toBe(false);
  });

  it('is undefined once the schedule is used up', () => {
    expect(retryDelay(SCHEDULE, 4, 1_000, noJitter)).toBeUndefined();
  });
});

describe('verdictFor', () => {
  it('delivers 2xx, disables on 410, gives up on other 4xx but 408 and 429, retries the rest', () => {
    expect(verdictFor(204)).toEqual({ kind: 'delivered' });
    expect(verdictFor(410)).toEqual({ kind: 'disable' });
    expect(verdictFor(404)).toEqual({ kind: 'dead' });
    expect(verdictFor(429, 1_000)).toEqual({ kind: 'retry', retryAfterMs: 1_000 });
    expect(verdictFor(408)).toEqual({ kind: 'retry' });
    expect(verdictFor(307)).toEqual({ kind: 'retry' });
    expect(verdictFor(503)).toEqual({ kind: 'retry' });
  });
});

describe('nextRetryWait', () => {
  const DAY = 86_400_000;

  it('limits the waits to the horizon, the schedule or a day, whichever is longest', () => {
    expect(retryWaitLimitMs(SCHEDULE, 0)).toBe(DAY);
    expect(retryWaitLimitMs(SCHEDULE, 2 * DAY)).toBe(2 * DAY);
    expect(retryWaitLimitMs([DAY, DAY], 0)).toBe(2 * DAY);
  });

  it("ends a receiver's run of day-long Retry-After waits once they add up to the limit", () => {
    expect(nextRetryWait(SCHEDULE, 1, 0, DAY, DAY, noJitter)).toBe(DAY);
    // The second day would take the waits past the limit: no attempt left (it went on for 28 days).
    expect(nextRetryWait(SCHEDULE, 2, DAY, DAY, DAY, noJitter)).toBeUndefined();
    expect(nextRetryWait(SCHEDULE, 2, 1_000, DAY, 60_000, noJitter)).toBe(60_000);
  });

  it('shortens a step our jitter takes past the limit to end there, as the last', () => {
    expect(nextRetryWait(SCHEDULE, 3, DAY - 3_600_000, DAY, undefined, () => 1)).toBe(3_600_000);
    expect(nextRetryWait(SCHEDULE, 3, DAY, DAY, undefined, noJitter)).toBeUndefined();
  });
});
