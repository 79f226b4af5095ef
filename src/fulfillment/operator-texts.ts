import { localized, type Translations } from './localized';

/**
 * The service's own replies (fallback, error, interim, accepted, degraded, unconfirmed) in every supported language. Their
 * English texts are the configuration's defaults (FALLBACK_TEXT, …): while an operator keeps a default, the user
 * gets it in their language; a text the operator configured is theirs, sent as configured.
 */
const OPERATOR_TEXTS = [
  {
    en: "Sorry, I can't help with that yet. Could you try asking another way?",
    de: 'Dabei kann ich leider noch nicht helfen. Können Sie es anders formulieren?',
    es: 'Lo siento, todavía no puedo ayudarle con eso. ¿Puede preguntarlo de otra manera?',
    fr: 'Désolé, je ne peux pas encore vous aider pour cela. Pouvez-vous reformuler votre demande ?',
  },
  {
    en: 'Sorry, something went wrong on our side. Please try again in a moment.',
    de: 'Entschuldigung, bei uns ist etwas schiefgelaufen. Bitte versuchen Sie es gleich noch einmal.',
    es: 'Lo siento, algo ha fallado por nuestra parte. Vuelva a intentarlo en un momento.',
    fr: 'Désolé, un problème est survenu de notre côté. Veuillez réessayer dans un instant.',
  },
  {
    en: "I'm still working on that. Please ask me again in a moment.",
    de: 'Ich arbeite noch daran. Bitte fragen Sie mich gleich noch einmal.',
    es: 'Todavía estoy en ello. Vuelva a preguntarme en un momento.',
    fr: "Je m'en occupe encore. Redemandez-moi dans un instant.",
  },
  {
    en: "Got it. I'm working on that and will let you know when it's done.",
    de: 'Verstanden. Ich kümmere mich darum und sage Ihnen Bescheid, sobald es erledigt ist.',
    es: 'Entendido. Me pongo con ello y le avisaré cuando esté listo.',
    fr: "C'est noté. Je m'en occupe et je vous préviendrai dès que ce sera fait.",
  },
  {
    en: "Sorry, I can't reach our systems right now. Please try again in a few minutes.",
    de: 'Entschuldigung, ich erreiche unsere Systeme gerade nicht. Bitte versuchen Sie es in ein paar Minuten erneut.',
    es: 'Lo siento, ahora mismo no puedo acceder a nuestros sistemas. Vuelva a intentarlo en unos minutos.',
    fr: 'Désolé, je ne parviens pas à joindre nos systèmes pour le moment. Veuillez réessayer dans quelques minutes.',
  },
  {
    en: "I couldn't confirm whether that went through: our systems stopped answering. Please check before you try it again.",
    de: 'Ich konnte nicht bestätigen, ob das ausgeführt wurde: Unsere Systeme haben nicht mehr geantwortet. Bitte prüfen Sie es, bevor Sie es noch einmal versuchen.',
    es: 'No he podido confirmar si se ha realizado: nuestros sistemas dejaron de responder. Compruébelo antes de volver a intentarlo.',
    fr: "Je n'ai pas pu confirmer que c'est fait : nos systèmes ont cessé de répondre. Vérifiez avant de réessayer.",
  },
] as const satisfies readonly Translations[];

const BY_ENGLISH = new Map<string, (typeof OPERATOR_TEXTS)[number]>(OPERATOR_TEXTS.map((text) => [text.en, text]));

/** A configured service reply in the user's language: translated while it is the default, else as configured. */
export function operatorText(configured: string, languageCode: string): string {
  const translations = BY_ENGLISH.get(configured);
  return translations ? localized(translations, languageCode) : configured;
}

/** The default texts and their translations, for the catalogue checks. */
export const DEFAULT_OPERATOR_TEXTS: readonly (typeof OPERATOR_TEXTS)[number][] = OPERATOR_TEXTS;
