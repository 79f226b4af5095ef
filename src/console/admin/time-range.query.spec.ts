import { validateSync } from 'class-validator';
import { TimeRangeQuery } from './time-range.query';

/** The validation messages for a range, by field. */
function problems(range: Partial<TimeRangeQuery>): Record<string, string[]> {
  const errors = validateSync(Object.assign(new TimeRangeQuery(), range));
  return Object.fromEntries(errors.map((error) => [error.property, Object.values(error.constraints ?? {})]));
}

describe('TimeRangeQuery', () => {
  it('takes calendar dates and date-times', () => {
    for (const instant of ['2026-12-01', '2026-12', '2026-12-01T09:30:00Z', '2026-12-01T09:30:00.123+02:00']) {
      expect(problems({ from: instant, to: instant })).toEqual({});
    }
  });

  it('refuses ordinal dates, which new Date misreads (2026-010 as 1 October) or cannot read (2026-340), saying why', () => {
    for (const ordinal of ['2026-010', '2026-340', '2026010', '2026-010T09:30:00Z', '+002026-010']) {
      expect(problems({ from: ordinal })).toEqual({ from: [expect.stringContaining('ordinal date')] });
      expect(problems({ to: ordinal })).toEqual({ to: [expect.stringContaining('write the calendar date')] });
    }
  });

  it('refuses week dates and what is no ISO 8601 time, with the format it takes', () => {
    for (const value of ['2024-W01-1', 'yesterday', '20261301']) {
      expect(problems({ from: value })).toEqual({ from: [expect.stringContaining('must be an ISO 8601 date')] });
    }
  });
});
