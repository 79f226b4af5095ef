/** Parameters the simulator takes for a date entity's: `date`, `date_to`, `birth_date`. */
export const DATE_PARAMETER = /(?:^|_)date(?:$|_)/i;
const CALENDAR_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export interface CalendarDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/**
 * The day a simulated parameter stands for when the platform's date entity matched it: one named like a date
 * whose value is a real calendar date (`2026-12-07`, as given or as the simulator resolved `tomorrow`). Each
 * platform's simulation sends it in that platform's own shape; any other value is text as typed.
 */
export function simulatedDate(name: string, value: string): CalendarDate | undefined {
  const match = DATE_PARAMETER.test(name) ? CALENDAR_DATE.exec(value) : null;
  if (!match) return undefined;
  const [year, month, day] = match.slice(1).map(Number);
  const checked = new Date(Date.UTC(year, month - 1, day));
  const real = checked.getUTCFullYear() === year && checked.getUTCMonth() === month - 1 && checked.getUTCDate() === day;
  return real ? { year, month, day } : undefined;
}
