import {
  FulfillmentHandler,
  FulfillmentRequest,
  FulfillmentResult,
  IntentHandler,
  translator,
} from '../../../fulfillment';
import { APPOINTMENTS_SOURCE, describeSlot, textParameter } from '../appointment-parameters';
import { APPOINTMENT_MESSAGES } from '../appointments.messages';
import { AppointmentsRepository } from '../appointments.repository';

/**
 * "Cancel my appointment A7K2Q9" — parameters `reference` (or the session's last booking) and `patient_id`. An
 * appointment whose time has come is not cancelled.
 */
@IntentHandler('CancelAppointment', { changesState: true })
export class CancelAppointmentHandler implements FulfillmentHandler {
  constructor(private readonly appointments: AppointmentsRepository) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const { languageCode } = request;
    const t = translator(APPOINTMENT_MESSAGES, languageCode);
    const reference = textParameter(request.parameters.reference ?? request.sessionParameters.last_appointment);
    if (!reference) return { text: t('askReference'), elicit: { parameter: 'reference' } };
    const patient = textParameter(request.parameters.patient_id ?? request.sessionParameters.patient_id);
    if (!patient) return { text: t('askPatientNumber'), elicit: { parameter: 'patient_id' } };
    const outcome = await this.appointments.cancel(reference, patient);
    switch (outcome.kind) {
      case 'not-found':
        return {
          text: t('appointmentNotFound', { reference: reference.toUpperCase() }),
          source: APPOINTMENTS_SOURCE,
        };
      case 'past':
        return {
          text: t('appointmentInPast', { when: describeSlot(outcome.slot, languageCode) }),
          failed: true,
          source: APPOINTMENTS_SOURCE,
        };
      case 'cancelled':
        return {
          text: t('cancelled', { when: describeSlot(outcome.slot, languageCode) }),
          sessionParameters: { last_appointment: null },
          source: APPOINTMENTS_SOURCE,
        };
    }
  }
}
