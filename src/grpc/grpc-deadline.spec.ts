import { AppError } from '../common/errors/app-error';
import {
  authBudgetMs,
  callBudgetMs,
  deadlineMarginMs,
  holdableTimeout,
  LONGEST_TIMEOUT,
  MALFORMED_TIMEOUT,
} from './grpc-deadline';

describe('callBudgetMs', () => {
  const now = 1_000_000;

  it('is the configured budget when the call has no deadline', () => {
    expect(callBudgetMs(Infinity, 4500, now, now)).toBe(4500);
  });

  it('keeps back a tenth of the time left, between 100 and 500 ms', () => {
    expect([50, 1000, 1500, 3000, 5000, 60_000].map(deadlineMarginMs)).toEqual([100, 100, 150, 300, 500, 500]);
  });

  it('is the configured budget when the deadline is further away', () => {
    expect(callBudgetMs(new Date(now + 10_000), 4500, now, now)).toBe(4500);
    expect(callBudgetMs(now + 5000, 4500, now, now)).toBe(4500);
  });

  it('is the time to the deadline minus the margin when that is shorter', () => {
    expect(callBudgetMs(new Date(now + 1000), 4500, now, now)).toBe(900);
    expect(callBudgetMs(new Date(now + 1500), 4500, now, now)).toBe(1350);
    expect(callBudgetMs(now + 4000, 4500, now, now)).toBe(3600);
    expect(callBudgetMs(now + 101, 4500, now, now)).toBe(1);
  });

  it('counts the budget from the arrival, and refuses a call held up past its deadline since then', () => {
    // Arrived 300 ms ago with 350 ms to go then: 50 ms left now, less than the margin.
    expect(() => callBudgetMs(now + 50, 4500, now - 300, now)).toThrow(AppError);
    // Arrived 300 ms ago with 1,300 ms to go then: the budget runs from the arrival (1,300 minus the margin).
    expect(callBudgetMs(now + 1000, 4500, now - 300, now)).toBe(1170);
  });

  it('refuses with DEADLINE_EXCEEDED when no time is left', () => {
    for (const deadline of [now + 100, now, now - 5000]) {
      expect(() => callBudgetMs(deadline, 4500, now, now)).toThrow(AppError);
    }
    try {
      callBudgetMs(now, 4500, now, now);
    } catch (error) {
      expect((error as AppError).code).toBe('DEADLINE_EXCEEDED');
    }
  });
});

describe('authBudgetMs', () => {
  const now = 1_000_000;

  it("is the platform's budget without a deadline, or with one further away", () => {
    expect(authBudgetMs(Infinity, 5000, 0, now)).toBe(5000);
    expect(authBudgetMs(new Date(now + 60_000), 5000, 10, now)).toBe(5000);
  });

  it("is what is left of the caller's deadline, counted from the call's arrival, when that comes sooner", () => {
    // 300 ms deadline, 20 ms spent since arrival: 280 ms left, 300 ms from arrival.
    expect(authBudgetMs(now + 280, 5000, 20, now)).toBe(300);
    expect(authBudgetMs(new Date(now - 5), 5000, 20, now)).toBe(15);
    expect(authBudgetMs(now - 100, 5000, 20, now)).toBe(0);
  });
});

describe('holdableTimeout', () => {
  it('leaves a timeout grpc-js can hold as it is', () => {
    expect(holdableTimeout('2500m')).toBe('2500m');
    expect(holdableTimeout('2147483S')).toBe('2147483S');
    expect(holdableTimeout('99999999n')).toBe('99999999n');
  });

  it('makes one of 2^31 ms or more (which grpc-js wraps round into the past) about 28 hours', () => {
    expect(holdableTimeout('2592000S')).toBe(LONGEST_TIMEOUT);
    expect(holdableTimeout('2147484S')).toBe(LONGEST_TIMEOUT);
    expect(holdableTimeout('99999999H')).toBe(LONGEST_TIMEOUT);
    expect(Number(LONGEST_TIMEOUT.slice(0, -1))).toBeLessThan(2 ** 31);
  });

  it('reads more than 8 digits whole (grpc-js read 8 of them: 300000000S as 0), in a coarser unit when they fit', () => {
    expect(holdableTimeout('300000000S')).toBe(LONGEST_TIMEOUT);
    expect(holdableTimeout('999999999S')).toBe(LONGEST_TIMEOUT);
    expect(holdableTimeout('000000005S')).toBe('5S');
    expect(holdableTimeout('300000000n')).toBe('300000u');
    expect(holdableTimeout('123456789u')).toBe('123457m');
    expect(holdableTimeout('2147483647m')).toBe('2147484S');
  });

  it('makes repeated values the shortest of them (grpc-js read the first, unadapted)', () => {
    expect(holdableTimeout(['2592000S', '2592000S'])).toBe(LONGEST_TIMEOUT);
    expect(holdableTimeout(['30S', '1500m', '2592000S'])).toBe('1500m');
  });

  it('makes a value that is not digits and a unit one grpc-js refuses (it read the digits and unit it found in it)', () => {
    for (const value of ['10s', 'x0S', '-5S', '5.5S', '1S2', '', ['5S', 'soon']]) {
      expect(holdableTimeout(value)).toBe(MALFORMED_TIMEOUT);
    }
    expect(MALFORMED_TIMEOUT).not.toMatch(/\d/);
  });
});
