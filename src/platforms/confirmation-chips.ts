import { replyLanguage, type SupportedLanguage } from '../fulfillment';

/** The answers offered with a confirmation question, in the reply's language (the bot's NLU reads them as typed). */
const CHIPS: Readonly<Record<SupportedLanguage, readonly [yes: string, no: string]>> = {
  en: ['Yes', 'No'],
  de: ['Ja', 'Nein'],
  es: ['Sí', 'No'],
  fr: ['Oui', 'Non'],
};

/** Yes/No quick replies for a confirmation, where the platform has no confirmation step of its own. */
export function confirmationChips(languageCode: string): string[] {
  return [...CHIPS[replyLanguage(languageCode)]];
}
