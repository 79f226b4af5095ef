import { resolveRelativeDate } from './relative-date';

describe('resolveRelativeDate', () => {
  const now = new Date('2026-12-31T23:30:00Z');

  it.each([
    ['date', 'today', '2026-12-31'],
    ['date', 'tomorrow', '2027-01-01'],
    ['date', 'Tomorrow', '2027-01-01'],
    ['date_to', '+7d', '2027-01-07'],
    ['birth_date', '+0d', '2026-12-31'],
  ])('%s=%s is the UTC calendar date %s', (name, value, expected) => {
    expect(resolveRelativeDate(name, value, now)).toBe(expected);
  });

  it.each([
    ['date', '2026-12-01'],
    ['date', 'next week'],
    ['date', '+1000d'],
    ['time', 'today'],
    ['update', 'tomorrow'],
    ['provider', 'today'],
  ])('leaves %s=%s as typed', (name, value) => {
    expect(resolveRelativeDate(name, value, now)).toBe(value);
  });
});
