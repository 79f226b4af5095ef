import type { FulfillmentResult } from '../../fulfillment';
import type { AppointmentSlot } from './entities/appointment-slot.entity';
import type { Provider } from './entities/provider.entity';

export const APPOINTMENTS_SOURCE = 'appointments-api';
const DATE = /^(\d{4}-\d{2}-\d{2})/;
const TIME = /(?:^|T)(\d{2}):(\d{2})/;

/** `2026-12-01`, or the date part of Dialogflow's `2026-12-01T12:00:00-05:00` (the date the user meant). */
export function dateFrom(value: unknown): string | undefined {
  const match = typeof value === 'string' ? DATE.exec(value.trim()) : null;
  if (!match) return undefined;
  const date = new Date(`${match[1]}T00:00:00Z`);
  return Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== match[1] ? undefined : match[1];
}

/** `09:30`, or the time part of an ISO date-time. Slots are kept in UTC. */
export function timeFrom(value: unknown): string | undefined {
  const match = typeof value === 'string' ? TIME.exec(value.trim()) : null;
  if (!match || Number(match[1]) > 23 || Number(match[2]) > 59) return undefined;
  return `${match[1]}:${match[2]}`;
}

export function textParameter(value: unknown): string | undefined {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  return /^[\p{L}\p{N} .'_-]{1,64}$/u.test(text) ? text : undefined;
}

export function describeSlot(slot: AppointmentSlot, languageCode: string): string {
  return new Intl.DateTimeFormat(languageCode.split(/[-_]/)[0] || 'en', {
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
    timeZone: 'UTC',
  }).format(slot.startsAt);
}

export function slotTime(slot: AppointmentSlot): string {
  return slot.startsAt.toISOString().slice(11, 16);
}

export function askForProvider(providers: readonly Provider[]): FulfillmentResult {
  const names = providers.map((p) => `${p.displayName} (${p.specialty})`);
  const text = `Which doctor would you like to see? ${new Intl.ListFormat('en', { type: 'disjunction' }).format(names)}?`;
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

export function offerSlots(
  lead: string,
  slots: readonly AppointmentSlot[],
  languageCode: string,
  parameter = 'time',
  invalid = false,
): FulfillmentResult {
  const times = slots.map((slot) => describeSlot(slot, languageCode));
  const text = slots.length ? `${lead} ${times.join('; ')}.` : `${lead} There are no free times in that period.`;
  return {
    text,
    elicit: { parameter, ...(invalid && { invalid }) },
    messages: [
      { type: 'text', text },
      ...(slots.length ? [{ type: 'quick-replies' as const, replies: slots.map((slot) => slotTime(slot)) }] : []),
    ],
    source: APPOINTMENTS_SOURCE,
  };
}
