import { FulfillmentHandler, FulfillmentRequest, FulfillmentResult, IntentHandler } from '../../../fulfillment';
import { APPOINTMENTS_SOURCE, describeSlot, textParameter } from '../appointment-parameters';
import { AppointmentsRepository } from '../appointments.repository';

/** "Cancel my appointment A7K2Q9" — parameters `reference` (or the session's last booking) and `patient_id`. */
@IntentHandler('CancelAppointment', { changesState: true })
export class CancelAppointmentHandler implements FulfillmentHandler {
  constructor(private readonly appointments: AppointmentsRepository) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const reference = textParameter(request.parameters.reference ?? request.sessionParameters.last_appointment);
    if (!reference) return { text: 'What is the reference of the appointment?', elicit: { parameter: 'reference' } };
    const patient = textParameter(request.parameters.patient_id ?? request.sessionParameters.patient_id);
    if (!patient) return { text: 'What is your patient number?', elicit: { parameter: 'patient_id' } };
    const cancelled = await this.appointments.cancel(reference, patient);
    if (!cancelled) {
      return {
        text: `I couldn't find a booked appointment ${reference.toUpperCase()} for that patient number.`,
        source: APPOINTMENTS_SOURCE,
      };
    }
    return {
      text: `Your appointment on ${describeSlot(cancelled.slot, request.languageCode)} (UTC) is cancelled.`,
      sessionParameters: { last_appointment: null },
      source: APPOINTMENTS_SOURCE,
    };
  }
}
