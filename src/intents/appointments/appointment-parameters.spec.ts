import {
  askForProvider,
  dateFrom,
  describeDay,
  describeSlot,
  describeSpecialty,
  instantOf,
  nearestSlots,
  offerSlots,
  timeFrom,
} from './appointment-parameters';
import type { AppointmentSlot } from './entities/appointment-slot.entity';
import type { Provider } from './entities/provider.entity';

const providers = [
  { displayName: 'Dr. Ada Lee', specialty: 'cardiology' },
  { displayName: 'Dr. Ravi Patel', specialty: 'dermatology' },
] as Provider[];
const slot = { startsAt: new Date('2026-12-01T09:30:00Z') } as AppointmentSlot;

describe('appointment prompts', () => {
  it('offers the doctors in the request language: specialties translated, names as stored, list joined', () => {
    expect(askForProvider(providers, 'en').text).toBe(
      'Which doctor would you like to see? Dr. Ada Lee (cardiology) or Dr. Ravi Patel (dermatology)?',
    );
    const german = askForProvider(providers, 'de-DE');
    expect(german.text).toBe(
      'Bei wem möchten Sie einen Termin? Dr. Ada Lee (Kardiologie) oder Dr. Ravi Patel (Dermatologie)?',
    );
    expect(german.messages?.[1]).toEqual({ type: 'quick-replies', replies: ['Dr. Ada Lee', 'Dr. Ravi Patel'] });
    expect(askForProvider(providers, 'es').text).toBe(
      '¿Con qué médico quiere pedir cita? ¿Dr. Ada Lee (cardiología) o Dr. Ravi Patel (dermatología)?',
    );
  });

  it('shows a specialty it has no translation for as stored', () => {
    expect(describeSpecialty('podiatry', 'fr')).toBe('podiatry');
    expect(describeSpecialty('cardiology', 'fr-CA')).toBe('cardiologie');
  });

  it('names days and times in the reply language, English when we do not answer in the request language', () => {
    expect(describeSlot(slot, 'en-US')).toBe('Tue, Dec 1, 09:30');
    expect(describeSlot(slot, 'de')).toBe('Di., 1. Dez., 09:30');
    expect(describeDay('2026-12-01', 'fr')).toBe('mar. 1 déc.');
    expect(describeDay('2026-12-01', 'it-IT')).toBe('Tue, Dec 1');
  });

  it('shows the half hour after midnight as 00:30 in every language (English wrote 24:30, the next day)', () => {
    const justAfterMidnight = { ...slot, startsAt: new Date('2026-12-01T00:30:00Z') };
    expect(describeSlot(justAfterMidnight, 'en')).toBe('Tue, Dec 1, 00:30');
    expect(describeSlot(justAfterMidnight, 'en-GB')).toBe('Tue 1 Dec, 00:30');
    expect(describeSlot(justAfterMidnight, 'de')).toBe('Di., 1. Dez., 00:30');
  });

  it('offers free times with the wording it is given', () => {
    const offer = offerSlots({ lead: 'Freie Zeiten:', none: 'Keine.' }, [slot], 'de', 'time');
    expect(offer.text).toBe('Freie Zeiten: Di., 1. Dez., 09:30.');
    expect(offer.messages?.[1]).toEqual({ type: 'quick-replies', replies: ['09:30'] });
  });

  it('names the day in each quick reply when the free times are on several days (a time alone would not say which)', () => {
    const at = (iso: string) => ({ startsAt: new Date(iso) }) as AppointmentSlot;
    const sameDay = offerSlots(
      { lead: 'Free:', none: 'None.' },
      [at('2026-12-08T09:00:00Z'), at('2026-12-08T09:30:00Z')],
      'en',
    );
    expect(sameDay.messages?.[1]).toEqual({ type: 'quick-replies', replies: ['09:00', '09:30'] });
    // Before: ['09:00', '09:00'], one reply for two days.
    const week = offerSlots(
      { lead: 'Free:', none: 'None.' },
      [at('2026-12-08T09:00:00Z'), at('2026-12-09T09:00:00Z')],
      'en',
    );
    expect(week.text).toBe('Free: Tue, Dec 8, 09:00; Wed, Dec 9, 09:00.');
    expect(week.messages?.[1]).toEqual({ type: 'quick-replies', replies: ['Tue, Dec 8, 09:00', 'Wed, Dec 9, 09:00'] });
    expect(
      offerSlots({ lead: 'Frei:', none: 'Keine.' }, [at('2026-12-08T09:00:00Z'), at('2026-12-09T09:00:00Z')], 'de')
        .messages?.[1],
    ).toEqual({ type: 'quick-replies', replies: ['Di., 8. Dez., 09:00', 'Mi., 9. Dez., 09:00'] });
  });

  it('offers the free times nearest to the time asked for (the earlier of two as near), in the order of the day', () => {
    const day = ['09:00', '09:30', '10:00', '10:30', '11:00'].map((time) => ({
      startsAt: new Date(`2026-12-08T${time}:00Z`),
    }));
    const times = (slots: readonly { startsAt: Date }[]) => slots.map((s) => s.startsAt.toISOString().slice(11, 16));
    expect(times(nearestSlots(day, 3, new Date('2026-12-08T11:30:00Z')))).toEqual(['10:00', '10:30', '11:00']);
    expect(times(nearestSlots(day, 2, new Date('2026-12-08T09:45:00Z')))).toEqual(['09:30', '10:00']);
    expect(times(nearestSlots(day, 3, new Date('2026-12-08T10:00:00Z')))).toEqual(['09:30', '10:00', '10:30']);
    expect(times(nearestSlots(day, 2))).toEqual(['09:00', '09:30']);
    expect(times(nearestSlots([...day].reverse(), 9))).toEqual(['09:00', '09:30', '10:00', '10:30', '11:00']);
  });
});

describe('appointment dates and times', () => {
  const at = (date: string, time: unknown) => {
    const parsed = timeFrom(time);
    return parsed && instantOf(date, parsed).toISOString();
  };

  it('reads 24-hour times as UTC, the time slots are kept in', () => {
    expect(at('2026-12-06', '09:30')).toBe('2026-12-06T09:30:00.000Z');
    expect(at('2026-12-06', '9:30')).toBe('2026-12-06T09:30:00.000Z');
    expect(at('2026-12-06', '14:30:00')).toBe('2026-12-06T14:30:00.000Z');
    expect(at('2026-12-06', '00:00')).toBe('2026-12-06T00:00:00.000Z');
  });

  it("reads an ISO date-time's clock time, its offset not applied (ES attaches its agent's zone to an offered UTC time)", () => {
    // Tapping the offered "10:00" in an agent at -05:00 gives this: the 10:00 UTC slot that was offered.
    expect(at('2026-12-06', '2026-12-06T10:00:00-05:00')).toBe('2026-12-06T10:00:00.000Z');
    expect(at('2026-12-06', '2026-12-06T10:00:00+0130')).toBe('2026-12-06T10:00:00.000Z');
    expect(at('2026-12-06', '2026-12-06T10:00:00.000+00:00')).toBe('2026-12-06T10:00:00.000Z');
    expect(at('2026-12-06', '2026-12-06T10:00:00Z')).toBe('2026-12-06T10:00:00.000Z');
    expect(at('2026-12-06', '2026-12-06 10:00')).toBe('2026-12-06T10:00:00.000Z');
    // The date-time's own date (ES sends today's) is not used either.
    expect(at('2026-12-06', '2026-11-30T22:00:00-05:00')).toBe('2026-12-06T22:00:00.000Z');
    // An offset that is no offset is not understood.
    expect(at('2026-12-06', '2026-12-06T10:00:00+25:00')).toBeUndefined();
  });

  it('reads 12-hour times with AM/PM (10:00 PM was read as 10:00)', () => {
    expect(at('2026-12-06', '10:00 PM')).toBe('2026-12-06T22:00:00.000Z');
    expect(at('2026-12-06', '10 pm')).toBe('2026-12-06T22:00:00.000Z');
    expect(at('2026-12-06', '9:30am')).toBe('2026-12-06T09:30:00.000Z');
    expect(at('2026-12-06', '12:15 p.m.')).toBe('2026-12-06T12:15:00.000Z');
    expect(at('2026-12-06', '12 AM')).toBe('2026-12-06T00:00:00.000Z');
  });

  it('reads Dialogflow CX time and date-time structures', () => {
    expect(at('2026-12-06', { hours: 9, minutes: 30, seconds: 0, nanos: 0 })).toBe('2026-12-06T09:30:00.000Z');
    expect(at('2026-12-06', { hours: 15 })).toBe('2026-12-06T15:00:00.000Z');
    const dateTime = { year: 2026, month: 12, day: 6, hours: 11, minutes: 0, seconds: 0, nanos: 0 };
    expect(at('2026-12-06', dateTime)).toBe('2026-12-06T11:00:00.000Z');
    expect(dateFrom(dateTime)).toBe('2026-12-06');
    expect(timeFrom({ year: 2026, month: 12, day: 6 })).toBeUndefined();
    expect(timeFrom({ hours: 25, minutes: 0 })).toBeUndefined();
    expect(timeFrom({ hours: 9, minutes: 1.5 })).toBeUndefined();
  });

  it('understands nothing else (a time with text after it was read by its first digits)', () => {
    for (const value of [
      '10:00 tomorrow',
      '10:00:00 PM',
      '13 PM',
      '0 AM',
      '24:00',
      '10:60',
      '10',
      '1000',
      'noon',
      '',
      '2026-12-06',
      '2026-12-06T10:00:00-05:00 or so',
      '2026-12-06T10:00:00-05:75',
      'T10:00',
      12,
      null,
    ]) {
      expect({ value, time: timeFrom(value) }).toEqual({ value, time: undefined });
    }
  });

  it('reads a date alone or before a time, nothing else', () => {
    expect(dateFrom('2026-12-06')).toBe('2026-12-06');
    expect(dateFrom('2026-12-06T12:00:00-05:00')).toBe('2026-12-06');
    expect(dateFrom('2026-12-06 12:00')).toBe('2026-12-06');
    expect(dateFrom({ year: 2026, month: 12, day: 6 })).toBe('2026-12-06');
    expect(dateFrom('2026-12-061')).toBeUndefined();
    expect(dateFrom('2026-02-30')).toBeUndefined();
  });
});
