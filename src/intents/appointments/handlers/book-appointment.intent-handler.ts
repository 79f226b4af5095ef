import {
  confirmationOf,
  confirmedActionKey,
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
  nearestSlots,
  offerSlots,
  type SlotWording,
  textParameter,
  timeFrom,
} from '../appointment-parameters';
import { APPOINTMENT_MESSAGES } from '../appointments.messages';
import { AppointmentsRepository, type SlotView } from '../appointments.repository';
import { isBlank } from '../../parameter-values';

const DAY_MS = 86_400_000;
/** Free times offered when the time asked for has no slot, or when none was given. */
const OFFERED = 6;
/** Free times offered when another patient holds the slot asked for. */
const ALTERNATIVES = 3;
/** Every slot of a day, however finely it is cut (five-minute slots): the nearest are chosen among them. */
const DAY_SLOTS = 288;

/** What to offer of a day's free times. */
interface DayOffer {
  readonly wording: SlotWording;
  readonly limit: number;
  /** The times nearest to this are offered; without it, the earliest. */
  readonly near?: Date;
  /** A slot not to offer (the one another patient holds, should the cached free times not know it yet). */
  readonly except?: string;
  /** The time given is asked for again. */
  readonly invalid: boolean;
}

/**
 * "Book me with Dr. Lee on Tuesday at 9:30" — parameters `provider`, `date`, `time`, `patient_id`, then a
 * confirmation. A booked slot is not offered for confirmation: the free times of that day nearest to it are, at
 * once, and the patient who holds it hears so. Two people confirming the same slot at the same moment: the database
 * lets exactly one booking through; the other hears that the slot was just taken, with the same free times.
 */
@IntentHandler('BookAppointment', { stages: ['dialog', 'fulfillment'], changesState: true })
export class BookAppointmentHandler implements FulfillmentHandler {
  constructor(private readonly appointments: AppointmentsRepository) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    // Every reply but the prompt uses a given answer up: after "insufficient funds" or "that slot was just taken",
    // the next booking is confirmed again, not carried out on the old "yes".
    return usingUpConfirmation(request, await this.decide(request), true);
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
      const wording = {
        lead: at
          ? t('noSlotAtTime', { provider: provider.displayName, time: at.toISOString().slice(11, 16) })
          : t('askTime'),
        none: t('noFreeTimesOnDay', { provider: provider.displayName, day: describeDay(date, languageCode) }),
      };
      // A time given is asked for again, whether not understood or not free.
      return this.offerDay(provider.id, date, languageCode, {
        wording,
        limit: OFFERED,
        near: at,
        invalid: !isBlank(params.time),
      });
    }
    const patient = textParameter(params.patient_id);
    // A slot someone holds is not offered for confirmation: the other free times of its day are, at once.
    if (slot.bookedBy !== null && !patient) {
      return this.offerInstead(provider.id, provider.displayName, date, slot, languageCode);
    }
    if (!patient) return { text: t('askPatientNumber'), elicit: { parameter: 'patient_id' } };

    const when = describeSlot(slot, languageCode);
    const subject = confirmationSubject('BookAppointment', provider.id, slot.startsAt.toISOString(), patient);
    const confirmation = confirmationOf(request, subject);
    const alreadyHeld: FulfillmentResult = {
      text: t('alreadyBooked', { provider: provider.displayName, when }),
      failed: true,
      source: APPOINTMENTS_SOURCE,
    };
    // The patient who holds it hears so. A "yes" goes on to the booking, which tells the rest apart: the appointment
    // the question made (the answer said again), the slot held by this patient or another, a request id reused.
    if (slot.bookedBy !== null && confirmation === 'none') {
      return slot.bookedBy === patient
        ? alreadyHeld
        : this.offerInstead(provider.id, provider.displayName, date, slot, languageCode);
    }
    if (confirmation === 'none') {
      return confirmationPrompt(request, subject, {
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

    const outcome = await this.appointments.book(slot, patient, confirmedActionKey(request, subject));
    if (outcome.kind === 'key-reused') {
      return {
        text: t('bookingKeyReused'),
        failed: true,
        sessionParameters: { confirmation: null },
        source: APPOINTMENTS_SOURCE,
      };
    }
    if (outcome.kind === 'held') return alreadyHeld;
    if (outcome.kind === 'taken') return this.offerInstead(provider.id, provider.displayName, date, slot, languageCode);
    return {
      text: t('booked', { provider: provider.displayName, when, reference: outcome.appointment.reference }),
      sessionParameters: { last_appointment: outcome.appointment.reference, confirmation: null },
      endConversation: false,
      source: APPOINTMENTS_SOURCE,
    };
  }

  /** Another patient holds `slot`: the other free times of its day, those nearest to it. */
  private offerInstead(
    providerId: string,
    providerName: string,
    date: string,
    slot: SlotView,
    languageCode: string,
  ): Promise<FulfillmentResult> {
    const t = translator(APPOINTMENT_MESSAGES, languageCode);
    const wording = {
      lead: t('slotTaken'),
      none: t('slotTakenNoneLeft', { provider: providerName, day: describeDay(date, languageCode) }),
    };
    return this.offerDay(providerId, date, languageCode, {
      wording,
      limit: ALTERNATIVES,
      near: slot.startsAt,
      except: slot.id,
      invalid: true,
    });
  }

  /**
   * Free times of `date` still to come, for `time` to be asked for: only that day's, as a time picked is booked on
   * the date the conversation holds (the quick replies carry the time alone). No free time that day: another day is
   * asked for instead of a time that cannot be booked.
   */
  private async offerDay(
    providerId: string,
    date: string,
    languageCode: string,
    offer: DayOffer,
  ): Promise<FulfillmentResult> {
    const dayStart = new Date(`${date}T00:00:00Z`);
    const earliest = new Date(Math.max(dayStart.getTime(), Date.now()));
    const dayEnd = new Date(dayStart.getTime() + DAY_MS);
    const free = await this.appointments.freeSlots(providerId, earliest, dayEnd, DAY_SLOTS);
    const offered = nearestSlots(
      free.filter((slot) => slot.id !== offer.except),
      offer.limit,
      offer.near,
    );
    return offered.length
      ? offerSlots(offer.wording, offered, languageCode, 'time', offer.invalid)
      : offerSlots(offer.wording, offered, languageCode, 'date', true);
  }
}
