import { DATE_PARAMETER } from '../platforms/simulated-dates';

const DAY_MS = 86_400_000;
const RELATIVE = /^(?:today|tomorrow|\+(\d{1,3})d)$/i;

/**
 * What a platform's date entity makes of "today", "tomorrow" or "in 3 days": a day, here the UTC calendar date
 * (like the demo slots), which each platform's simulation then sends in its own shape (see `simulatedDate`). Only
 * parameters named like dates (`date`, `date_to`, `birth_date`) are read this way; any other value, and every
 * other parameter, is passed on as typed.
 */
export function resolveRelativeDate(name: string, value: string, now = new Date()): string {
  const match = DATE_PARAMETER.test(name) ? RELATIVE.exec(value.trim()) : null;
  if (!match) return value;
  const days = match[1] !== undefined ? Number(match[1]) : value.trim().toLowerCase() === 'tomorrow' ? 1 : 0;
  return new Date(now.getTime() + days * DAY_MS).toISOString().slice(0, 10);
}
