import type { Catalogue } from '../../fulfillment';

/** Everything the appointment handlers say. Doctors' names and references stay as stored. */
export const APPOINTMENT_MESSAGES = {
  askProvider: {
    en: 'Which doctor would you like to see? {providers}?',
    de: 'Bei wem möchten Sie einen Termin? {providers}?',
    es: '¿Con qué médico quiere pedir cita? ¿{providers}?',
    fr: 'Quel médecin souhaitez-vous consulter ? {providers} ?',
  },
  askDate: {
    en: 'Which day would you like to see {provider}?',
    de: 'An welchem Tag möchten Sie zu {provider}?',
    es: '¿Qué día quiere la cita con {provider}?',
    fr: 'Quel jour souhaitez-vous voir {provider} ?',
  },
  noSlotAtTime: {
    en: '{provider} has no appointment at {time} that day. Free times are:',
    de: '{provider} hat an diesem Tag um {time} keinen Termin frei. Freie Zeiten:',
    es: '{provider} no tiene cita a las {time} ese día. Horarios libres:',
    fr: '{provider} n’a pas de rendez-vous à {time} ce jour-là. Créneaux libres :',
  },
  askTime: {
    en: 'Which time suits you? Free times are:',
    de: 'Welche Uhrzeit passt Ihnen? Freie Zeiten:',
    es: '¿Qué hora le viene bien? Horarios libres:',
    fr: 'Quelle heure vous convient ? Créneaux libres :',
  },
  noFreeTimesOnDay: {
    en: '{provider} has no free times on {day}. Which other day would suit you?',
    de: '{provider} hat am {day} keine freien Termine. Welcher andere Tag würde Ihnen passen?',
    es: '{provider} no tiene horarios libres el {day}. ¿Qué otro día le vendría bien?',
    // French short dates end with a full stop ("mar. 7 janv."), so the date does not end the sentence.
    fr: 'Le {day}, {provider} n’a pas de créneau libre. Quel autre jour vous conviendrait ?',
  },
  askPatientNumber: {
    en: 'What is your patient number?',
    de: 'Wie lautet Ihre Patientennummer?',
    es: '¿Cuál es su número de paciente?',
    fr: 'Quel est votre numéro de patient ?',
  },
  confirmBooking: {
    en: 'Book {provider} on {when} (UTC)?',
    de: 'Termin bei {provider} am {when} (UTC) buchen?',
    es: '¿Reservo la cita con {provider} el {when} (UTC)?',
    fr: 'Réserver avec {provider} le {when} (UTC) ?',
  },
  bookingDeclined: {
    en: "OK, I haven't booked anything.",
    de: 'In Ordnung, ich habe nichts gebucht.',
    es: 'De acuerdo, no he reservado nada.',
    fr: 'D’accord, je n’ai rien réservé.',
  },
  slotTaken: {
    en: 'Sorry, that slot was just taken. Other free times that day are:',
    de: 'Dieser Termin wurde leider gerade vergeben. Weitere freie Zeiten an diesem Tag:',
    es: 'Lo siento, esa hora acaba de ocuparse. Otros horarios libres ese día:',
    fr: 'Désolé, ce créneau vient d’être pris. Autres créneaux libres ce jour-là :',
  },
  slotTakenNoneLeft: {
    en: 'Sorry, that slot was just taken, and {provider} has no other free times on {day}. Which other day would suit you?',
    de: 'Dieser Termin wurde leider gerade vergeben, und {provider} hat am {day} keine anderen freien Termine. Welcher andere Tag würde Ihnen passen?',
    es: 'Lo siento, esa hora acaba de ocuparse y {provider} no tiene más horarios libres el {day}. ¿Qué otro día le vendría bien?',
    // French short dates end with a full stop ("mar. 7 janv."), so the date does not end the sentence.
    fr: 'Désolé, ce créneau vient d’être pris et, le {day}, {provider} n’a pas d’autre créneau libre. Quel autre jour vous conviendrait ?',
  },
  alreadyBooked: {
    en: 'You already have this appointment: {provider} on {when} (UTC).',
    de: 'Diesen Termin haben Sie bereits: {provider} am {when} (UTC).',
    es: 'Ya tiene esta cita: {provider} el {when} (UTC).',
    fr: 'Vous avez déjà ce rendez-vous : {provider} le {when} (UTC).',
  },
  booked: {
    en: "You're booked with {provider} on {when} (UTC). Your reference is {reference}.",
    de: 'Ihr Termin bei {provider} am {when} (UTC) ist gebucht. Ihre Referenz lautet {reference}.',
    es: 'Su cita con {provider} el {when} (UTC) está reservada. Su referencia es {reference}.',
    fr: 'Votre rendez-vous avec {provider} le {when} (UTC) est réservé. Votre référence est {reference}.',
  },
  bookingKeyReused: {
    en: 'That request was already used for a different booking, so I did not book this one. Please ask me again.',
    de: 'Diese Anfrage wurde bereits für eine andere Buchung verwendet, daher habe ich diesen Termin nicht gebucht. Bitte fragen Sie mich erneut.',
    es: 'Esa solicitud ya se usó para otra reserva, así que no he reservado esta cita. Por favor, pídamelo de nuevo.',
    fr: 'Cette demande a déjà servi à une autre réservation, je n’ai donc pas réservé ce rendez-vous. Veuillez me le redemander.',
  },

  askReference: {
    en: 'What is the reference of the appointment?',
    de: 'Wie lautet die Referenz des Termins?',
    es: '¿Cuál es la referencia de la cita?',
    fr: 'Quelle est la référence du rendez-vous ?',
  },
  appointmentNotFound: {
    en: "I couldn't find a booked appointment {reference} for that patient number.",
    de: 'Zu dieser Patientennummer habe ich keinen gebuchten Termin {reference} gefunden.',
    es: 'No he encontrado ninguna cita reservada {reference} para ese número de paciente.',
    fr: 'Je n’ai trouvé aucun rendez-vous réservé {reference} pour ce numéro de patient.',
  },
  appointmentInPast: {
    en: 'Your appointment on {when} (UTC) has already taken place, so it can no longer be cancelled.',
    de: 'Ihr Termin am {when} (UTC) hat bereits stattgefunden und kann daher nicht mehr storniert werden.',
    es: 'Su cita del {when} (UTC) ya ha tenido lugar, así que ya no se puede cancelar.',
    fr: 'Votre rendez-vous du {when} (UTC) a déjà eu lieu, il ne peut donc plus être annulé.',
  },
  cancelled: {
    en: 'Your appointment on {when} (UTC) is cancelled.',
    de: 'Ihr Termin am {when} (UTC) ist storniert.',
    es: 'Su cita del {when} (UTC) está cancelada.',
    fr: 'Votre rendez-vous du {when} (UTC) est annulé.',
  },

  freeTimes: {
    en: '{provider} has these free times (UTC):',
    de: '{provider} hat diese freien Termine (UTC):',
    es: '{provider} tiene estos horarios libres (UTC):',
    fr: '{provider} a ces créneaux libres (UTC) :',
  },
  noFreeTimesInPeriod: {
    en: '{provider} has no free times {period}. Would you like to try another day?',
    de: '{provider} hat {period} keine freien Termine. Möchten Sie es an einem anderen Tag versuchen?',
    es: '{provider} no tiene horarios libres {period}. ¿Quiere probar otro día?',
    fr: '{provider} n’a pas de créneau libre {period} : voulez-vous essayer un autre jour ?',
  },
  periodBetween: {
    en: 'between {from} and {to}',
    de: 'zwischen {from} und {to}',
    es: 'entre el {from} y el {to}',
    fr: 'entre le {from} et le {to}',
  },
  periodOn: { en: 'on {day}', de: 'am {day}', es: 'el {day}', fr: 'le {day}' },
  periodNextDays: {
    en: 'in the next {days} days',
    de: 'in den nächsten {days} Tagen',
    es: 'en los próximos {days} días',
    fr: 'dans les {days} prochains jours',
  },
} as const satisfies Catalogue;

/** Specialties by their stored name; one that is not here is shown as stored. */
export const SPECIALTIES: Catalogue = {
  cardiology: { en: 'cardiology', de: 'Kardiologie', es: 'cardiología', fr: 'cardiologie' },
  dermatology: { en: 'dermatology', de: 'Dermatologie', es: 'dermatología', fr: 'dermatologie' },
};
