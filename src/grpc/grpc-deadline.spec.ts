import { AppError } from '../common/errors/app-error';
import { callBudgetMs, DEADLINE_MARGIN_MS } from './grpc-deadline';

describe('callBudgetMs', () => {
  const now = 1_000_000;

  it('is the configured budget when the call has no deadline', () => {
    expect(callBudgetMs(Infinity, 4500, now)).toBe(4500);
  });

  it('is the configured budget when the deadline is further away', () => {
    expect(callBudgetMs(new Date(now + 10_000), 4500, now)).toBe(4500);
    expect(callBudgetMs(now + 4500 + DEADLINE_MARGIN_MS, 4500, now)).toBe(4500);
  });

  it('is the time to the deadline minus the margin when that is shorter', () => {
    expect(callBudgetMs(new Date(now + 1000), 4500, now)).toBe(1000 - DEADLINE_MARGIN_MS);
    expect(callBudgetMs(now + DEADLINE_MARGIN_MS + 1, 4500, now)).toBe(1);
  });

  it('refuses with DEADLINE_EXCEEDED when no time is left', () => {
    for (const deadline of [now + DEADLINE_MARGIN_MS, now, now - 5000]) {
      expect(() => callBudgetMs(deadline, 4500, now)).toThrow(AppError);
    }
    try {
      callBudgetMs(now, 4500, now);
    } catch (error) {
      expect((error as AppError).code).toBe('DEADLINE_EXCEEDED');
    }
  });
});
