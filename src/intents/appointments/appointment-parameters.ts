import { formatList, localized, replyLocale, translator } from '../../fulfillment';
import type { FulfillmentResult } from '../../fulfillment';
import { APPOINTMENT_MESSAGES, SPECIALTIES } from './appointments.messages';
import type { AppointmentSlot } from './entities/appointment-slot.entity';
import type { Provider } from './entities/provider.entity';

export const APPOINTMENTS_SOURCE = 'appointments-api';
const DATE = /^(\d{4}-\d{2}-\d{2})/;
const TIME = /(?:^|T)(\d{2}):(\d{2})/;

/** `2026-12-01`, or the date part of Dialogflow's `2026-12-01T12:00:00-05:00` (the date the user meant). */
const pad = (n: unknown, width = 2): string => String(n).padStart(width, '0');

/** Dialogflow CX sends @sys.date as `{year, month, day}` and @sys.time as `{hours, minutes, seconds, nanos}`. */
function fromStructure(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (Number.isInteger(v.year) && Number.isInteger(v.month) && Number.isInteger(v.day)) {
    return `${pad(v.year, 4)}-${pad(v.month)}-${pad(v.day)}`;
  }
  if (Number.isInteger(v.hours)) return `T${pad(v.hours)}:${pad(Number.isInteger(v.minutes) ? v.minutes : 0)}`;
  return undefined;
}

export function dateFrom(value: unknown): string | undefined {
  const text = typeof value === 'string' ? value.trim() : fromStructure(value);
  const match = text ? DATE.exec(text) : null;
  if (!match) return undefined;
  const date = new Date(`${match[1]}T00:00:00Z`);
  return Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== match[1] ? undefined : match[1];
}

/** `09:30`, or the time part of an ISO date-time. Slots are kept in UTC. */
export function timeFrom(value: unknown): string | undefined {
  const text = typeof value === 'string' ? value.trim() : fromStructure(value);
  const match = text ? TIME.exec(text) : null;
  if (!match || Number(match[1]) > 23 || Number(match[2]) > 59) return undefined;
  return `${match[1]}:${match[2]}`;
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
 * Lists free times as text and quick replies, or says there are none in a sentence of its own. With
 * `parameter`, also asks the platform to collect it.
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
  return {
    text,
    ...(parameter && { elicit: { parameter, ...(invalid && { invalid }) } }),
    messages: [
      { type: 'text', text },
      ...(slots.length ? [{ type: 'quick-replies' as const, replies: slots.map((slot) => slotTime(slot)) }] : []),
    ],
    source: APPOINTMENTS_SOURCE,
  };
}
