import { FulfillmentHandler, FulfillmentRequest, FulfillmentResult, IntentHandler } from '../../../fulfillment';
import { askForProvider, dateFrom, describeDay, offerSlots, textParameter } from '../appointment-parameters';
import { AppointmentsRepository } from '../appointments.repository';

const DAY_MS = 86_400_000;
const DEFAULT_RANGE_DAYS = 7;
const MAX_SLOTS = 6;

/** "When can I see Dr. Lee next week?" — parameters `provider`, `date` and optional `date_to` (UTC dates). */
@IntentHandler('FindAppointmentSlots')
export class FindAppointmentSlotsHandler implements FulfillmentHandler {
  constructor(private readonly appointments: AppointmentsRepository) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const name = textParameter(request.parameters.provider);
    const provider = name ? await this.appointments.findProvider(name) : null;
    if (!provider) return askForProvider(await this.appointments.providers());

    const date = dateFrom(request.parameters.date);
    const until = dateFrom(request.parameters.date_to);
    const from = date ? new Date(`${date}T00:00:00Z`) : new Date();
    const to = until
      ? new Date(Date.parse(`${until}T00:00:00Z`) + DAY_MS)
      : new Date(from.getTime() + (date ? DAY_MS : DEFAULT_RANGE_DAYS * DAY_MS));
    const earliest = new Date(Math.max(from.getTime(), Date.now()));
    const slots = await this.appointments.freeSlots(provider.id, earliest, to, MAX_SLOTS);
    const period = until
      ? `between ${describeDay(date ?? from.toISOString().slice(0, 10), request.languageCode)} and ${describeDay(until, request.languageCode)}`
      : date
        ? `on ${describeDay(date, request.languageCode)}`
        : `in the next ${DEFAULT_RANGE_DAYS} days`;
    const wording = {
      lead: `${provider.displayName} has these free times (UTC):`,
      none: `${provider.displayName} has no free times ${period}. Would you like to try another day?`,
    };
    return {
      ...offerSlots(wording, slots, request.languageCode),
      sessionParameters: { provider: provider.slug },
    };
  }
}
