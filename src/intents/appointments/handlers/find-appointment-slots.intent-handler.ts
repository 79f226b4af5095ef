import {
  FulfillmentHandler,
  FulfillmentRequest,
  FulfillmentResult,
  IntentHandler,
  translator,
} from '../../../fulfillment';
import { askForProvider, dateFrom, describeDay, offerSlots, textParameter } from '../appointment-parameters';
import { APPOINTMENT_MESSAGES } from '../appointments.messages';
import { AppointmentsRepository } from '../appointments.repository';

const DAY_MS = 86_400_000;
const DEFAULT_RANGE_DAYS = 7;
const MAX_SLOTS = 6;

/** "When can I see Dr. Lee next week?" — parameters `provider`, `date` and optional `date_to` (UTC dates). */
@IntentHandler('FindAppointmentSlots')
export class FindAppointmentSlotsHandler implements FulfillmentHandler {
  constructor(private readonly appointments: AppointmentsRepository) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const { languageCode } = request;
    const t = translator(APPOINTMENT_MESSAGES, languageCode);
    const name = textParameter(request.parameters.provider);
    const provider = name ? await this.appointments.findProvider(name) : null;
    if (!provider) return askForProvider(await this.appointments.providers(), languageCode);

    const date = dateFrom(request.parameters.date);
    const until = dateFrom(request.parameters.date_to);
    const from = date ? new Date(`${date}T00:00:00Z`) : new Date();
    const to = until
      ? new Date(Date.parse(`${until}T00:00:00Z`) + DAY_MS)
      : new Date(from.getTime() + (date ? DAY_MS : DEFAULT_RANGE_DAYS * DAY_MS));
    const earliest = new Date(Math.max(from.getTime(), Date.now()));
    const slots = await this.appointments.freeSlots(provider.id, earliest, to, MAX_SLOTS);
    const period = until
      ? t('periodBetween', {
          from: describeDay(date ?? from.toISOString().slice(0, 10), languageCode),
          to: describeDay(until, languageCode),
        })
      : date
        ? t('periodOn', { day: describeDay(date, languageCode) })
        : t('periodNextDays', { days: DEFAULT_RANGE_DAYS });
    const wording = {
      lead: t('freeTimes', { provider: provider.displayName }),
      none: t('noFreeTimesInPeriod', { provider: provider.displayName, period }),
    };
    return {
      ...offerSlots(wording, slots, languageCode),
      sessionParameters: { provider: provider.slug },
    };
  }
}
