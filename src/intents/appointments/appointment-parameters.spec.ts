import { askForProvider, describeDay, describeSlot, describeSpecialty, offerSlots } from './appointment-parameters';
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
});
