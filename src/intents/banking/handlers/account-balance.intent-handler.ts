import { FulfillmentHandler, FulfillmentRequest, FulfillmentResult, IntentHandler } from '../../../fulfillment';
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

/** "What is my checking balance?" — parameters `user_id` and `account_type`. */
@IntentHandler('GetAccountBalance')
export class AccountBalanceHandler implements FulfillmentHandler {
  constructor(private readonly accounts: AccountsRepository) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const customerNumber = customerNumberFrom(request.parameters);
    if (!customerNumber) return askForCustomerNumber();
    const accountType = accountTypeFrom(request.parameters);

    const account = accountType ? await this.accounts.findAccount(customerNumber, accountType) : null;
    if (!account) {
      const owned = await this.accounts.listAccounts(customerNumber);
      if (owned.length === 0) return unknownCustomer();
      const question = accountType
        ? `You don't have a ${accountType} account with us. Which account would you like the balance for`
        : 'Which account would you like the balance for';
      return askWhichAccount(owned, question, customerNumber);
    }

    const balance = formatMoney(account.balanceMinor, account.currency, request.languageCode);
    const statement = `Your ${account.accountType} account balance is ${balance.formatted}.`;
    const offer = 'Would you like to see recent transactions?';
    return {
      text: `${statement} ${offer}`,
      messages: [
        { type: 'text', text: statement },
        { type: 'quick-replies', title: offer, replies: ['Show recent transactions', 'No, thanks'] },
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
