import {
  confirmationOf,
  confirmationPrompt,
  confirmationSubject,
  FulfillmentHandler,
  FulfillmentRequest,
  FulfillmentResult,
  IntentHandler,
  translator,
  usingUpConfirmation,
} from '../../../fulfillment';
import {
  APPOINTMENTS_SOURCE,
  askForProvider,
  dateFrom,
  describeDay,
  describeSlot,
  instantOf,
  offerSlots,
  textParameter,
  timeFrom,
} from '../appointment-parameters';
import { APPOINTMENT_MESSAGES } from '../appointments.messages';
import { AppointmentsRepository } from '../appointments.repository';
import { isBlank } from '../../parameter-values';

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
    // Every reply but the prompt uses a given answer up: after "insufficient funds" or "that slot was just taken",
    // the next booking is confirmed again, not carried out on the old "yes".
    return usingUpConfirmation(request, await this.decide(request));
  }

  private async decide(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const { languageCode } = request;
    const t = translator(APPOINTMENT_MESSAGES, languageCode);
    const params = { ...request.sessionParameters, ...request.parameters };
    const name = textParameter(params.provider);
    const provider = name ? await this.appointments.findProvider(name) : null;
    if (!provider) return askForProvider(await this.appointments.providers(), languageCode);

    const date = dateFrom(params.date);
    if (!date) return { text: t('askDate', { provider: provider.displayName }), elicit: { parameter: 'date' } };
    const time = timeFrom(params.time);
    const at = time && instantOf(date, time);
    const found = at ? await this.appointments.findSlot(provider.id, at) : null;
    const slot = found && found.startsAt.getTime() > Date.now() ? found : null;
    if (!slot) {
      const dayStart = new Date(`${date}T00:00:00Z`);
      const earliest = new Date(Math.max(dayStart.getTime(), Date.now()));
      const free = await this.appointments.freeSlots(provider.id, earliest, new Date(dayStart.getTime() + DAY_MS), 6);
      const wording = {
        lead: at
          ? t('noSlotAtTime', { provider: provider.displayName, time: at.toISOString().slice(11, 16) })
          : t('askTime'),
        none: t('noFreeTimesOnDay', { provider: provider.displayName, day: describeDay(date, languageCode) }),
      };
      // No free time that day: ask for another day rather than for a time that cannot be booked. A time given is
      // asked for again, whether not understood or not free.
      return free.length
        ? offerSlots(wording, free, languageCode, 'time', !isBlank(params.time))
        : offerSlots(wording, free, languageCode, 'date', true);
    }
    const patient = textParameter(params.patient_id);
    if (!patient) return { text: t('askPatientNumber'), elicit: { parameter: 'patient_id' } };

    const when = describeSlot(slot, languageCode);
    const subject = confirmationSubject('BookAppointment', provider.id, slot.startsAt.toISOString(), patient);
    const confirmation = confirmationOf(request, subject);
    if (confirmation === 'none') {
      return confirmationPrompt(subject, {
        text: t('confirmBooking', { provider: provider.displayName, when }),
        source: APPOINTMENTS_SOURCE,
      });
    }
    if (confirmation === 'denied') {
      // The answer is used up: a later booking must be confirmed again (Rasa keeps slots until told otherwise).
      return {
        text: t('bookingDeclined'),
        failed: true,
        sessionParameters: { confirmation: null },
        source: APPOINTMENTS_SOURCE,
      };
    }
    if (request.stage === 'dialog') return { text: '', delegate: true };

    const outcome = await this.appointments.book(slot, patient, request.idempotencyKey);
    if (outcome.kind === 'key-reused') {
      return {
        text: t('bookingKeyReused'),
        failed: true,
        sessionParameters: { confirmation: null },
        source: APPOINTMENTS_SOURCE,
      };
    }
    if (outcome.kind === 'taken') {
      const next = await this.appointments.freeSlots(
        provider.id,
        slot.startsAt,
        new Date(slot.startsAt.getTime() + 14 * DAY_MS),
        ALTERNATIVES,
      );
      const wording = {
        lead: t('slotTaken'),
        none: t('slotTakenNoneLeft', { provider: provider.displayName }),
      };
      return offerSlots(wording, next, languageCode, 'time', true);
    }
    return {
      text: t('booked', { provider: provider.displayName, when, reference: outcome.appointment.reference }),
      sessionParameters: { last_appointment: outcome.appointment.reference, confirmation: null },
      endConversation: false,
      source: APPOINTMENTS_SOURCE,
    };
  }
}
