import type { Catalogue } from '../../fulfillment';

/** Everything the banking handlers say. Account types (`{type}`, `{accounts}`) stay as stored. */
export const BANKING_MESSAGES = {
  askCustomerNumber: {
    en: 'I need your customer number to look that up. What is it?',
    de: 'Dafür brauche ich Ihre Kundennummer. Wie lautet sie?',
    es: 'Necesito su número de cliente para consultarlo. ¿Cuál es?',
    fr: 'J’ai besoin de votre numéro client pour vérifier cela. Quel est-il ?',
  },
  unknownCustomer: {
    en: "I couldn't find any accounts for that customer number. Please check it and try again.",
    de: 'Zu dieser Kundennummer habe ich keine Konten gefunden. Bitte prüfen Sie sie und versuchen Sie es erneut.',
    es: 'No he encontrado ninguna cuenta con ese número de cliente. Compruébelo e inténtelo de nuevo.',
    fr: 'Je n’ai trouvé aucun compte pour ce numéro client. Veuillez le vérifier et réessayer.',
  },

  balanceWhichAccount: {
    en: 'Which account would you like the balance for: {accounts}?',
    de: 'Für welches Konto möchten Sie den Kontostand wissen: {accounts}?',
    es: '¿De qué cuenta quiere saber el saldo: {accounts}?',
    fr: 'De quel compte voulez-vous connaître le solde : {accounts} ?',
  },
  balanceNoSuchAccount: {
    en: "You don't have a {type} account with us. Which account would you like the balance for: {accounts}?",
    de: 'Sie haben bei uns kein Konto „{type}“. Für welches Konto möchten Sie den Kontostand wissen: {accounts}?',
    es: 'No tiene ninguna cuenta {type} con nosotros. ¿De qué cuenta quiere saber el saldo: {accounts}?',
    fr: 'Vous n’avez pas de compte {type} chez nous. De quel compte voulez-vous connaître le solde : {accounts} ?',
  },
  balance: {
    en: 'Your {type} account balance is {amount}.',
    de: 'Der Kontostand Ihres Kontos „{type}“ beträgt {amount}.',
    es: 'El saldo de su cuenta {type} es {amount}.',
    fr: 'Le solde de votre compte {type} est de {amount}.',
  },
  offerTransactions: {
    en: 'Would you like to see recent transactions?',
    de: 'Möchten Sie die letzten Umsätze sehen?',
    es: '¿Quiere ver los últimos movimientos?',
    fr: 'Voulez-vous voir les dernières opérations ?',
  },
  showTransactions: {
    en: 'Show recent transactions',
    de: 'Umsätze zeigen',
    es: 'Ver movimientos',
    fr: 'Voir les opérations',
  },
  noThanks: { en: 'No, thanks', de: 'Nein, danke', es: 'No, gracias', fr: 'Non, merci' },

  transactionsWhichAccount: {
    en: 'Which account would you like to see transactions for: {accounts}?',
    de: 'Für welches Konto möchten Sie die Umsätze sehen: {accounts}?',
    es: '¿De qué cuenta quiere ver los movimientos: {accounts}?',
    fr: 'Pour quel compte voulez-vous voir les opérations : {accounts} ?',
  },
  noTransactions: {
    en: 'There are no transactions on your {type} account yet.',
    de: 'Auf Ihrem Konto „{type}“ gibt es noch keine Umsätze.',
    es: 'Todavía no hay movimientos en su cuenta {type}.',
    fr: 'Il n’y a encore aucune opération sur votre compte {type}.',
  },
  lastTransactionOne: {
    en: 'Here is the last transaction on your {type} account:',
    de: 'Hier ist der letzte Umsatz auf Ihrem Konto „{type}“:',
    es: 'Este es el último movimiento de su cuenta {type}:',
    fr: 'Voici la dernière opération sur votre compte {type} :',
  },
  lastTransactionsOther: {
    en: 'Here are the last {count} transactions on your {type} account:',
    de: 'Hier sind die letzten {count} Umsätze auf Ihrem Konto „{type}“:',
    es: 'Estos son los últimos {count} movimientos de su cuenta {type}:',
    fr: 'Voici les {count} dernières opérations sur votre compte {type} :',
  },
  transactionsAskCount: {
    en: 'I can show 1 to {max} transactions. How many would you like to see?',
    de: 'Ich kann 1 bis {max} Umsätze anzeigen. Wie viele möchten Sie sehen?',
    es: 'Puedo mostrar de 1 a {max} movimientos. ¿Cuántos quiere ver?',
    fr: 'Je peux afficher de 1 à {max} opérations. Combien voulez-vous en voir ?',
  },
  transactionLine: {
    en: '{date}: {description}, {amount}',
    de: '{date}: {description}, {amount}',
    es: '{date}: {description}, {amount}',
    fr: '{date} : {description}, {amount}',
  },

  statementNoSuchAccount: {
    en: "You don't have a {type} account, so I can't make a statement for it.",
    de: 'Sie haben kein Konto „{type}“, daher kann ich dafür keinen Kontoauszug erstellen.',
    es: 'No tiene ninguna cuenta {type}, así que no puedo preparar un extracto de ella.',
    fr: 'Vous n’avez pas de compte {type}, je ne peux donc pas établir de relevé pour ce compte.',
  },
  statementUnclearAccount: {
    en: "I couldn't tell which account you meant, so I made no statement. Please ask again, naming checking or savings.",
    de: 'Ich konnte nicht erkennen, welches Konto Sie meinen, und habe keinen Kontoauszug erstellt. Bitte fragen Sie noch einmal und nennen Sie Giro- oder Sparkonto.',
    es: 'No he podido saber a qué cuenta se refería, así que no he preparado ningún extracto. Vuelva a pedirlo indicando corriente o de ahorro.',
    fr: 'Je n’ai pas compris de quel compte il s’agit, je n’ai donc établi aucun relevé. Redemandez-le en précisant compte courant ou épargne.',
  },
  statementAskDays: {
    en: 'I can make a statement for 1 to {max} days, so I made none yet. For how many days would you like it?',
    de: 'Ich kann einen Kontoauszug über 1 bis {max} Tage erstellen und habe daher noch keinen erstellt. Über wie viele Tage möchten Sie ihn?',
    es: 'Puedo preparar un extracto de 1 a {max} días, así que aún no he preparado ninguno. ¿De cuántos días lo quiere?',
    fr: 'Je peux établir un relevé sur 1 à {max} jours, je n’en ai donc encore établi aucun. Sur combien de jours le voulez-vous ?',
  },
  statementKeyReused: {
    en: 'That request was already used for a different statement, so I did not make this one. Please ask me again.',
    de: 'Diese Anfrage wurde bereits für einen anderen Kontoauszug verwendet, daher habe ich diesen nicht erstellt. Bitte fragen Sie mich erneut.',
    es: 'Esa solicitud ya se usó para otro extracto, así que no he preparado este. Por favor, pídamelo de nuevo.',
    fr: 'Cette demande a déjà servi à un autre relevé, je n’ai donc pas établi celui-ci. Veuillez me le redemander.',
  },
  statementReady: {
    en: 'Your {type} statement for {period} is ready: {transactions}, from {opening} to {closing}. Reference {reference}.',
    de: 'Ihr Kontoauszug für das Konto „{type}“ über {period} ist fertig: {transactions}, Saldo von {opening} auf {closing}. Referenz {reference}.',
    es: 'Su extracto de la cuenta {type} {period} está listo: {transactions}, de {opening} a {closing}. Referencia {reference}.',
    fr: 'Votre relevé du compte {type} pour {period} est prêt : {transactions}, de {opening} à {closing}. Référence {reference}.',
  },
  statementPeriodOne: {
    en: 'the last day',
    de: 'den letzten Tag',
    es: 'del último día',
    fr: 'le dernier jour',
  },
  statementPeriodOther: {
    en: 'the last {days} days',
    de: 'die letzten {days} Tage',
    es: 'de los últimos {days} días',
    fr: 'les {days} derniers jours',
  },
  statementTransactionsOne: {
    en: '{count} transaction',
    de: '{count} Umsatz',
    es: '{count} movimiento',
    fr: '{count} opération',
  },
  statementTransactionsOther: {
    en: '{count} transactions',
    de: '{count} Umsätze',
    es: '{count} movimientos',
    fr: '{count} opérations',
  },

  askFromAccount: {
    en: 'Which account should the money come from?',
    de: 'Von welchem Konto soll das Geld abgebucht werden?',
    es: '¿De qué cuenta debe salir el dinero?',
    fr: 'De quel compte l’argent doit-il partir ?',
  },
  askToAccount: {
    en: 'Which account should the money go to?',
    de: 'Auf welches Konto soll das Geld überwiesen werden?',
    es: '¿A qué cuenta debe ir el dinero?',
    fr: 'Sur quel compte l’argent doit-il être versé ?',
  },
  sameAccount: {
    en: 'The money has to go to another account. Which one?',
    de: 'Das Geld muss auf ein anderes Konto gehen. Auf welches?',
    es: 'El dinero tiene que ir a otra cuenta. ¿A cuál?',
    fr: 'L’argent doit être versé sur un autre compte. Lequel ?',
  },
  transferNoSuchAccount: {
    en: "You don't have a {type} account. Which account should I use?",
    de: 'Sie haben kein Konto „{type}“. Welches Konto soll ich verwenden?',
    es: 'No tiene ninguna cuenta {type}. ¿Qué cuenta debo usar?',
    fr: 'Vous n’avez pas de compte {type}. Quel compte dois-je utiliser ?',
  },
  askAmount: {
    en: 'How much would you like to transfer?',
    de: 'Wie viel möchten Sie überweisen?',
    es: '¿Cuánto quiere transferir?',
    fr: 'Quel montant voulez-vous virer ?',
  },
  askAmountInAccountCurrency: {
    en: 'Your {type} account is in {currency}. How much would you like to transfer, in {currency}?',
    de: 'Ihr Konto „{type}“ wird in {currency} geführt. Wie viel möchten Sie überweisen, in {currency}?',
    es: 'Su cuenta {type} está en {currency}. ¿Cuánto quiere transferir, en {currency}?',
    fr: 'Votre compte {type} est en {currency}. Quel montant voulez-vous virer, en {currency} ?',
  },
  confirmTransfer: {
    en: 'Transfer {amount} from your {from} account to your {to} account?',
    de: '{amount} von Ihrem Konto „{from}“ auf Ihr Konto „{to}“ überweisen?',
    es: '¿Transferir {amount} de su cuenta {from} a su cuenta {to}?',
    fr: 'Virer {amount} de votre compte {from} vers votre compte {to} ?',
  },
  transferDeclined: {
    en: "OK, I won't make that transfer.",
    de: 'In Ordnung, ich führe diese Überweisung nicht aus.',
    es: 'De acuerdo, no haré esa transferencia.',
    fr: 'D’accord, je n’effectue pas ce virement.',
  },
  transferDone: {
    en: 'Done: I moved {amount} from your {from} account to your {to} account. Your {from} balance is now {balance}.',
    de: 'Erledigt: Ich habe {amount} von Ihrem Konto „{from}“ auf Ihr Konto „{to}“ überwiesen. Der Kontostand Ihres Kontos „{from}“ beträgt jetzt {balance}.',
    es: 'Hecho: he transferido {amount} de su cuenta {from} a su cuenta {to}. El saldo de su cuenta {from} es ahora de {balance}.',
    fr: 'C’est fait : j’ai viré {amount} de votre compte {from} vers votre compte {to}. Le solde de votre compte {from} est maintenant de {balance}.',
  },
  insufficientFunds: {
    en: 'Your {type} account has {balance}, which is not enough to transfer {amount}.',
    de: 'Auf Ihrem Konto „{type}“ sind {balance}; das reicht nicht für eine Überweisung von {amount}.',
    es: 'Su cuenta {type} tiene {balance}, que no es suficiente para transferir {amount}.',
    fr: 'Votre compte {type} présente un solde de {balance}, ce qui ne suffit pas pour virer {amount}.',
  },
  transferAlreadyDone: {
    en: 'That transfer was already made: {amount} from your {from} account to your {to} account; nothing more was moved. Your {from} balance is {balance}. To make another, ask me again.',
    de: 'Diese Überweisung wurde bereits ausgeführt: {amount} von Ihrem Konto „{from}“ auf Ihr Konto „{to}“; es wurde nichts weiter überwiesen. Der Kontostand Ihres Kontos „{from}“ beträgt {balance}. Für eine weitere Überweisung fragen Sie mich bitte erneut.',
    es: 'Esa transferencia ya se hizo: {amount} de su cuenta {from} a su cuenta {to}; no he movido nada más. El saldo de su cuenta {from} es de {balance}. Para hacer otra, pídamelo de nuevo.',
    fr: 'Ce virement a déjà été effectué : {amount} de votre compte {from} vers votre compte {to} ; rien de plus n’a été viré. Le solde de votre compte {from} est de {balance}. Pour en faire un autre, redemandez-le-moi.',
  },
  transferKeyReused: {
    en: 'That request was already used for a different transfer, so I did not make this one. Please ask me again.',
    de: 'Diese Anfrage wurde bereits für eine andere Überweisung verwendet, daher habe ich diese nicht ausgeführt. Bitte fragen Sie mich erneut.',
    es: 'Esa solicitud ya se usó para otra transferencia, así que no he hecho esta. Por favor, pídamelo de nuevo.',
    fr: 'Cette demande a déjà servi à un autre virement, je n’ai donc pas effectué celui-ci. Veuillez me le redemander.',
  },
  currencyMismatch: {
    en: 'Those accounts hold different currencies, so I cannot transfer between them here.',
    de: 'Diese Konten werden in unterschiedlichen Währungen geführt, daher kann ich hier nicht zwischen ihnen überweisen.',
    es: 'Esas cuentas están en monedas distintas, así que aquí no puedo hacer transferencias entre ellas.',
    fr: 'Ces comptes sont tenus dans des devises différentes, je ne peux donc pas effectuer de virement entre eux ici.',
  },
} as const satisfies Catalogue;

export type BankingMessage = keyof typeof BANKING_MESSAGES;
