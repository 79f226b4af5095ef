import {
  confirmationOf,
  FulfillmentHandler,
  FulfillmentRequest,
  FulfillmentResult,
  IntentHandler,
} from '../../../fulfillment';
import {
  APPOINTMENTS_SOURCE,
  askForProvider,
  dateFrom,
  describeDay,
  describeSlot,
  offerSlots,
  textParameter,
  timeFrom,
} from '../appointment-parameters';
import { AppointmentsRepository } from '../appointments.repository';

const DAY_MS = 86_400_000;
const ALTERNATIVES = 3;

/**
 * "Book me with Dr. Lee on Tuesday at 9:30" — parameters `provider`, `date`, `time`, `patient_id`, then a
 * confirmation. Two people confirming the same slot at the same moment: the database lets exactly one
 * booking through; the other hears that the slot was just taken, with the next free times.
 */
@IntentHandler('BookAppointment', { stages: ['dialog', 'fulfillment'], changesState: true })
export class BookAppointmentHandler implements FulfillmentHandler {
  constructor(private readonly appointments: AppointmentsRepository) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const params = { ...request.sessionParameters, ...request.parameters };
    const name = textParameter(params.provider);
    const provider = name ? await this.appointments.findProvider(name) : null;
    if (!provider) return askForProvider(await this.appointments.providers());

    const date = dateFrom(params.date);
    if (!date)
      return { text: `Which day would you like to see ${provider.displayName}?`, elicit: { parameter: 'date' } };
    const dayStart = new Date(`${date}T00:00:00Z`);
    const time = timeFrom(params.time);
    const found = time ? await this.appointments.findSlot(provider.id, new Date(`${date}T${time}:00Z`)) : null;
    const slot = found && found.startsAt.getTime() > Date.now() ? found : null;
    if (!slot) {
      const earliest = new Date(Math.max(dayStart.getTime(), Date.now()));
      const free = await this.appointments.freeSlots(provider.id, earliest, new Date(dayStart.getTime() + DAY_MS), 6);
      const wording = {
        lead: time
          ? `${provider.displayName} has no appointment at ${time} that day. Free times are:`
          : 'Which time suits you? Free times are:',
        none: `${provider.displayName} has no free times on ${describeDay(date, request.languageCode)}. Which other day would suit you?`,
      };
      // No free time that day: ask for another day rather than for a time that cannot be booked.
      return free.length
        ? offerSlots(wording, free, request.languageCode, 'time', Boolean(time))
        : offerSlots(wording, free, request.languageCode, 'date', true);
    }
    const patient = textParameter(params.patient_id);
    if (!patient) return { text: 'What is your patient number?', elicit: { parameter: 'patient_id' } };

    const when = describeSlot(slot, request.languageCode);
    const confirmation = confirmationOf(request);
    if (confirmation === 'none') {
      return { text: `Book ${provider.displayName} on ${when} (UTC)?`, confirm: true, source: APPOINTMENTS_SOURCE };
    }
    if (confirmation === 'denied') {
      // The answer is used up: a later booking must be confirmed again (Rasa keeps slots until told otherwise).
      return {
        text: "OK, I haven't booked anything.",
        failed: true,
        sessionParameters: { confirmation: null },
        source: APPOINTMENTS_SOURCE,
      };
    }
    if (request.stage === 'dialog') return { text: '', delegate: true };

    const outcome = await this.appointments.book(slot.id, patient);
    if (outcome.kind === 'taken') {
      const next = await this.appointments.freeSlots(
        provider.id,
        slot.startsAt,
        new Date(slot.startsAt.getTime() + 14 * DAY_MS),
        ALTERNATIVES,
      );
      const wording = {
        lead: 'Sorry, that slot was just taken. The next free times are:',
        none: `Sorry, that slot was just taken, and ${provider.displayName} has no other free times in the next two weeks.`,
      };
      return offerSlots(wording, next, request.languageCode, 'time', true);
    }
    return {
      text: `You're booked with ${provider.displayName} on ${when} (UTC). Your reference is ${outcome.appointment.reference}.`,
      sessionParameters: { last_appointment: outcome.appointment.reference, confirmation: null },
      endConversation: false,
      source: APPOINTMENTS_SOURCE,
    };
  }
}
