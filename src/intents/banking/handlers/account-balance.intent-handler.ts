import {
  fill,
  FulfillmentHandler,
  FulfillmentRequest,
  FulfillmentResult,
  IntentHandler,
  localized,
  LocalizedText,
} from '../../../fulfillment';
import { AccountsRepository } from '../accounts.repository';
import {
  accountTypeFrom,
  askForCustomerNumber,
  askWhichAccount,
  BANKING_SOURCE,
  customerNumberFrom,
  unknownCustomer,
} from '../banking-parameters';
import { formatMoney } from '../money';

const STATEMENT: LocalizedText = {
  en: 'Your {type} account balance is {amount}.',
  de: 'Der Kontostand Ihres Kontos „{type}“ beträgt {amount}.',
  es: 'El saldo de su cuenta {type} es {amount}.',
  fr: 'Le solde de votre compte {type} est de {amount}.',
};
const OFFER: LocalizedText = {
  en: 'Would you like to see recent transactions?',
  de: 'Möchten Sie die letzten Umsätze sehen?',
  es: '¿Quiere ver los últimos movimientos?',
  fr: 'Voulez-vous voir les dernières opérations ?',
};
const SHOW: LocalizedText = {
  en: 'Show recent transactions',
  de: 'Umsätze zeigen',
  es: 'Ver movimientos',
  fr: 'Voir les opérations',
};
const NO_THANKS: LocalizedText = { en: 'No, thanks', de: 'Nein, danke', es: 'No, gracias', fr: 'Non, merci' };

/** "What is my checking balance?" — parameters `user_id` and `account_type`; answers in the user's language. */
@IntentHandler('GetAccountBalance')
export class AccountBalanceHandler implements FulfillmentHandler {
  constructor(private readonly accounts: AccountsRepository) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const customerNumber = customerNumberFrom(request.parameters);
    if (!customerNumber) return askForCustomerNumber();
    const accountType = accountTypeFrom(request.parameters);

    const account = accountType ? await this.accounts.findAccount(customerNumber, accountType, request.signal) : null;
    if (!account) {
      const owned = await this.accounts.listAccounts(customerNumber);
      if (owned.length === 0) return unknownCustomer();
      const question = accountType
        ? `You don't have a ${accountType} account with us. Which account would you like the balance for`
        : 'Which account would you like the balance for';
      return askWhichAccount(owned, question, customerNumber);
    }

    const balance = formatMoney(account.balanceMinor, account.currency, request.languageCode);
    const language = request.languageCode;
    const statement = fill(localized(STATEMENT, language), { type: account.accountType, amount: balance.formatted });
    const offer = localized(OFFER, language);
    return {
      text: `${statement} ${offer}`,
      messages: [
        { type: 'text', text: statement },
        { type: 'quick-replies', title: offer, replies: [localized(SHOW, language), localized(NO_THANKS, language)] },
      ],
      contexts: [
        {
          name: 'account-info',
          lifespan: 5,
          parameters: {
            user_id: customerNumber,
            account_type: account.accountType,
            balance: Number(balance.decimal),
            currency: account.currency,
            last_updated: account.balanceUpdatedAt.toISOString(),
          },
        },
      ],
      source: BANKING_SOURCE,
    };
  }
}
