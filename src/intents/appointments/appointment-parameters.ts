import { formatList, localized, replyLocale, translator } from '../../fulfillment';
import type { FulfillmentResult } from '../../fulfillment';
import { APPOINTMENT_MESSAGES, SPECIALTIES } from './appointments.messages';
import type { AppointmentSlot } from './entities/appointment-slot.entity';
import type { Provider } from './entities/provider.entity';

export const APPOINTMENTS_SOURCE = 'appointments-api';
const DATE = /^(\d{4}-\d{2}-\d{2})(?:$|[T ])/;
/** `9:30`, `14:30`, `14:30:00`, `14:30:00.000`: 24-hour. */
const CLOCK = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?$/;
/** `9 PM`, `9:30 am`, `12:15 p.m.` */
const TWELVE_HOUR = /^(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?$/i;
/** `2026-12-06T10:00:00-05:00` (Dialogflow ES), `…T10:00:00.000+00:00` (Rasa), `…T15:00:00Z`, `… 15:00`. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|([+-])(\d{2}):?(\d{2}))?$/i;

/**
 * A time of day as the user said it, read as UTC like the times offered (every offer says "(UTC)"). An ISO
 * date-time's offset is not applied: Dialogflow ES attaches its agent's time zone to a time picked from the offered
 * UTC times (tapping "09:00" gives `…T09:00:00-05:00`), as CX's time structure carries none.
 */
export interface TimeOfDay {
  readonly hours: number;
  readonly minutes: number;
  readonly seconds: number;
}

const pad = (n: unknown, width = 2): string => String(n).padStart(width, '0');

/** Dialogflow CX sends @sys.date as `{year, month, day}`; a date-time has `hours` and `minutes` as well. */
function dateOfStructure(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!Number.isInteger(v.year) || !Number.isInteger(v.month) || !Number.isInteger(v.day)) return undefined;
  return `${pad(v.year, 4)}-${pad(v.month)}-${pad(v.day)}`;
}

/** `2026-12-01`, or the date part of Dialogflow's `2026-12-01T12:00:00-05:00` (the date the user meant). */
export function dateFrom(value: unknown): string | undefined {
  const text = typeof value === 'string' ? value.trim() : dateOfStructure(value);
  const match = text ? DATE.exec(text) : null;
  if (!match) return undefined;
  const date = new Date(`${match[1]}T00:00:00Z`);
  return Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== match[1] ? undefined : match[1];
}

function timeOfDay(hours: number, minutes: number, seconds = 0): TimeOfDay | undefined {
  return hours <= 23 && minutes <= 59 && seconds <= 59 ? { hours, minutes, seconds } : undefined;
}

/** Dialogflow CX sends @sys.time as `{hours, minutes, seconds, nanos}`, @sys.date-time with the date fields too. */
function timeOfStructure(value: object): TimeOfDay | undefined {
  const { hours, minutes = 0, seconds = 0 } = value as Record<string, unknown>;
  const parts = [hours, minutes, seconds];
  if (!parts.every((part) => Number.isInteger(part) && (part as number) >= 0)) return undefined;
  return timeOfDay(...(parts as [number, number, number]));
}

function timeOfText(text: string): TimeOfDay | undefined {
  const clock = CLOCK.exec(text);
  if (clock) return timeOfDay(Number(clock[1]), Number(clock[2]), Number(clock[3] ?? 0));
  const twelve = TWELVE_HOUR.exec(text);
  if (twelve) {
    const hour = Number(twelve[1]);
    if (hour < 1 || hour > 12) return undefined;
    return timeOfDay((hour % 12) + (twelve[3].toLowerCase() === 'p' ? 12 : 0), Number(twelve[2] ?? 0));
  }
  const dateTime = DATE_TIME.exec(text);
  if (!dateTime) return undefined;
  const [, hours, minutes, seconds = '0', , , offsetHours = '0', offsetMinutes = '0'] = dateTime;
  const offsetValid = Number(offsetHours) <= 23 && Number(offsetMinutes) <= 59;
  return offsetValid ? timeOfDay(Number(hours), Number(minutes), Number(seconds)) : undefined;
}

/**
 * `09:30`, `9:30 PM`, a CX time structure, or the clock time of an ISO date-time (whose date and offset are not
 * used: Dialogflow ES sends @sys.time on today's date, in its agent's time zone). Anything else is not understood.
 */
export function timeFrom(value: unknown): TimeOfDay | undefined {
  if (typeof value === 'string') return timeOfText(value.trim());
  return typeof value === 'object' && value !== null ? timeOfStructure(value) : undefined;
}

/** The instant a time of day on a date means, in UTC like the slots. */
export function instantOf(date: string, time: TimeOfDay): Date {
  const [year, month, day] = date.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day, time.hours, time.minutes, time.seconds));
}

export function textParameter(value: unknown): string | undefined {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  return /^[\p{L}\p{N} .'_-]{1,64}$/u.test(text) ? text : undefined;
}

export function describeSlot(slot: AppointmentSlot, languageCode: string): string {
  return new Intl.DateTimeFormat(replyLocale(languageCode), {
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    // h23, not hour12: false: English would print the first hour after midnight as 24:30.
    hourCycle: 'h23',
    timeZone: 'UTC',
  }).format(slot.startsAt);
}

export function slotTime(slot: AppointmentSlot): string {
  return slot.startsAt.toISOString().slice(11, 16);
}

/** A specialty in the reply language; one without translations is shown as stored. */
export function describeSpecialty(specialty: string, languageCode: string): string {
  return Object.hasOwn(SPECIALTIES, specialty) ? localized(SPECIALTIES[specialty], languageCode) : specialty;
}

export function askForProvider(providers: readonly Provider[], languageCode: string): FulfillmentResult {
  const names = providers.map((p) => `${p.displayName} (${describeSpecialty(p.specialty, languageCode)})`);
  const text = translator(APPOINTMENT_MESSAGES, languageCode)('askProvider', {
    providers: formatList(names, languageCode, 'disjunction'),
  });
  return {
    text,
    elicit: { parameter: 'provider' },
    messages: [
      { type: 'text', text },
      { type: 'quick-replies', replies: providers.map((p) => p.displayName) },
    ],
    source: APPOINTMENTS_SOURCE,
  };
}

/** What to say before the free times, and instead of them when there are none. */
export interface SlotWording {
  readonly lead: string;
  readonly none: string;
}

/** "on Tue, Dec 1": one UTC day in the caller's language. */
export function describeDay(date: string, languageCode: string): string {
  return new Intl.DateTimeFormat(replyLocale(languageCode), {
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    timeZone: 'UTC',
  }).format(new Date(`${date}T00:00:00Z`));
}

/**
 * At most `limit` of `slots`, those nearest to `at` (the earlier of two as near), or the earliest without it; in
 * the order of their times.
 */
export function nearestSlots<T extends Pick<AppointmentSlot, 'startsAt'>>(
  slots: readonly T[],
  limit: number,
  at?: Date,
): T[] {
  const distance = (slot: T): number => (at ? Math.abs(slot.startsAt.getTime() - at.getTime()) : 0);
  const byTime = (a: T, b: T): number => a.startsAt.getTime() - b.startsAt.getTime();
  const nearest = [...slots].sort((a, b) => distance(a) - distance(b) || byTime(a, b)).slice(0, limit);
  return nearest.sort(byTime);
}

/**
 * Lists free times as text and quick replies, or says there are none in a sentence of its own. With
 * `parameter`, also asks the platform to collect it. When every slot is on one day a quick reply is a time of day
 * alone (`09:30`), which the platforms fill into `time` and nothing else: offered for `time`, every slot must be on
 * the date the conversation already holds, or the time picked is booked on that date instead of the one shown.
 * Slots of several days (FindAppointmentSlots over a week) get their day too, as the text writes them
 * (`Wed, Dec 9, 09:30`): a time alone would not say which day was picked, and two days' 09:30 would be one reply.
 */
export function offerSlots(
  wording: SlotWording,
  slots: readonly AppointmentSlot[],
  languageCode: string,
  parameter?: string,
  invalid = false,
): FulfillmentResult {
  const times = slots.map((slot) => describeSlot(slot, languageCode));
  const text = slots.length ? `${wording.lead} ${times.join('; ')}.` : wording.none;
  const oneDay = new Set(slots.map((slot) => slot.startsAt.toISOString().slice(0, 10))).size <= 1;
  return {
    text,
    ...(parameter && { elicit: { parameter, ...(invalid && { invalid }) } }),
    messages: [
      { type: 'text', text },
      ...(slots.length
        ? [{ type: 'quick-replies' as const, replies: oneDay ? slots.map((slot) => slotTime(slot)) : times }]
        : []),
    ],
    source: APPOINTMENTS_SOURCE,
  };
}
