import {
  FulfillmentHandler,
  FulfillmentRequest,
  FulfillmentResult,
  IntentHandler,
  translator,
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
import { BANKING_MESSAGES } from '../banking.messages';
import { formatMoney } from '../money';

/** "What is my checking balance?" — parameters `user_id` and `account_type`; answers in the user's language. */
@IntentHandler('GetAccountBalance')
export class AccountBalanceHandler implements FulfillmentHandler {
  constructor(private readonly accounts: AccountsRepository) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const customerNumber = customerNumberFrom(request.parameters);
    const { languageCode } = request;
    if (!customerNumber) return askForCustomerNumber(languageCode);
    const accountType = accountTypeFrom(request.parameters);

    const account = accountType ? await this.accounts.findAccount(customerNumber, accountType, request.signal) : null;
    if (!account) {
      const owned = await this.accounts.listAccounts(customerNumber);
      if (owned.length === 0) return unknownCustomer(languageCode);
      return accountType
        ? askWhichAccount(owned, 'balanceNoSuchAccount', customerNumber, languageCode, { type: accountType })
        : askWhichAccount(owned, 'balanceWhichAccount', customerNumber, languageCode);
    }

    const t = translator(BANKING_MESSAGES, languageCode);
    const balance = formatMoney(account.balanceMinor, account.currency, languageCode);
    const statement = t('balance', { type: account.accountType, amount: balance.formatted });
    const offer = t('offerTransactions');
    return {
      text: `${statement} ${offer}`,
      messages: [
        { type: 'text', text: statement },
        { type: 'quick-replies', title: offer, replies: [t('showTransactions'), t('noThanks')] },
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
