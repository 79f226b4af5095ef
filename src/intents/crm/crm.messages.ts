import type { Catalogue } from '../../fulfillment';

/** Everything the CRM handler says. */
export const CRM_MESSAGES = {
  askEmail: {
    en: 'What email address can our team reach you at?',
    de: 'Unter welcher E-Mail-Adresse kann unser Team Sie erreichen?',
    es: '¿En qué dirección de correo electrónico puede contactarle nuestro equipo?',
    fr: 'À quelle adresse e-mail notre équipe peut-elle vous joindre ?',
  },
  askCompany: {
    en: 'Which company are you with?',
    de: 'Für welches Unternehmen sind Sie tätig?',
    es: '¿En qué empresa trabaja?',
    fr: 'Pour quelle entreprise travaillez-vous ?',
  },
  askBudgetInCurrency: {
    en: 'Our team plans budgets in {currency}. Roughly what is your yearly budget in {currency}?',
    de: 'Unser Team plant Budgets in {currency}. Wie hoch ist Ihr Jahresbudget ungefähr in {currency}?',
    es: 'Nuestro equipo planifica los presupuestos en {currency}. ¿Cuál es, aproximadamente, su presupuesto anual en {currency}?',
    fr: 'Notre équipe établit les budgets en {currency}. Quel est environ votre budget annuel en {currency} ?',
  },
  askBudgetAgain: {
    en: "I didn't catch that budget. Roughly what is your yearly budget in {currency}, as a number such as 50000?",
    de: 'Das Budget habe ich nicht verstanden. Wie hoch ist Ihr Jahresbudget ungefähr in {currency}, als Zahl wie 50000?',
    es: 'No he entendido ese presupuesto. ¿Cuál es, aproximadamente, su presupuesto anual en {currency}, como un número del tipo 50000?',
    fr: 'Je n’ai pas compris ce budget. Quel est environ votre budget annuel en {currency}, en chiffres, par exemple 50000 ?',
  },
  thanks: { en: 'Thanks!', de: 'Vielen Dank!', es: '¡Gracias!', fr: 'Merci !' },
  thanksNamed: { en: 'Thanks, {name}!', de: 'Vielen Dank, {name}!', es: '¡Gracias, {name}!', fr: 'Merci, {name} !' },
  nextEnterpriseSales: {
    en: 'An account executive will call you within one business day.',
    de: 'Eine Ansprechperson aus unserem Vertrieb ruft Sie innerhalb eines Werktags an.',
    es: 'Un ejecutivo de cuentas le llamará en un plazo de un día hábil.',
    fr: 'Un chargé de compte vous appellera sous un jour ouvré.',
  },
  nextInsideSales: {
    en: 'Someone from our sales team will email you this week.',
    de: 'Jemand aus unserem Vertriebsteam schreibt Ihnen diese Woche eine E-Mail.',
    es: 'Alguien de nuestro equipo de ventas le escribirá esta semana.',
    fr: 'Un membre de notre équipe commerciale vous écrira cette semaine.',
  },
  nextNurture: {
    en: "We'll send you some material to get started.",
    de: 'Wir schicken Ihnen Material für den Einstieg.',
    es: 'Le enviaremos material para empezar.',
    fr: 'Nous vous enverrons de la documentation pour bien démarrer.',
  },
} as const satisfies Catalogue;
