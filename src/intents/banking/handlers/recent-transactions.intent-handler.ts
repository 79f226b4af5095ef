import {
  FulfillmentHandler,
  FulfillmentRequest,
  FulfillmentResult,
  IntentHandler,
  replyLocale,
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
import type { AccountView } from '../accounts.repository';
import { BANKING_MESSAGES } from '../banking.messages';
import { formatMoney } from '../money';
import { isBlank, wholeNumberFrom } from '../../parameter-values';

export const DEFAULT_TRANSACTION_COUNT = 5;
export const MAX_TRANSACTION_COUNT = 20;

/**
 * The default when no count is given, at most the maximum (the reply says how many it shows); undefined when the one
 * given is not a whole number of at least 1.
 */
function countFrom(value: unknown): number | undefined {
  if (isBlank(value)) return DEFAULT_TRANSACTION_COUNT;
  const count = wholeNumberFrom(value);
  return count !== undefined && count >= 1 ? Math.min(count, MAX_TRANSACTION_COUNT) : undefined;
}

/**
 * "Show my last 5 transactions" — parameters `user_id`, `account_type` and optional `count` (or `number`; default 5,
 * at most 20; one that is not a whole number of at least 1 is asked for again).
 */
@IntentHandler('GetRecentTransactions')
export class RecentTransactionsHandler implements FulfillmentHandler {
  constructor(private readonly accounts: AccountsRepository) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const { languageCode } = request;
    const t = translator(BANKING_MESSAGES, languageCode);
    const customerNumber = customerNumberFrom(request.parameters);
    if (!customerNumber) return askForCustomerNumber(languageCode);
    const countParameter = request.parameters.count != null ? 'count' : 'number';
    const count = countFrom(request.parameters[countParameter]);
    if (count === undefined) {
      return {
        text: t('transactionsAskCount', { max: MAX_TRANSACTION_COUNT }),
        elicit: { parameter: countParameter, invalid: true },
        source: BANKING_SOURCE,
      };
    }
    const account = await this.resolveAccount(customerNumber, accountTypeFrom(request.parameters), request.signal);
    if (!account || isAccountList(account)) {
      if (!account || account.length === 0) return unknownCustomer(languageCode);
      return askWhichAccount(account, 'transactionsWhichAccount', customerNumber, languageCode);
    }

    const transactions = await this.accounts.recentTransactions(account.id, count);
    if (transactions.length === 0) {
      return { text: t('noTransactions', { type: account.accountType }), source: BANKING_SOURCE };
    }
    const dates = new Intl.DateTimeFormat(replyLocale(languageCode), {
      month: 'short',
      day: 'numeric',
      timeZone: 'UTC',
    });
    const lines = transactions.map((transaction) =>
      t('transactionLine', {
        date: dates.format(transaction.postedAt),
        description: transaction.description,
        amount: formatMoney(transaction.amountMinor, account.currency, languageCode).formatted,
      }),
    );
    const heading =
      transactions.length === 1
        ? t('lastTransactionOne', { type: account.accountType })
        : t('lastTransactionsOther', { type: account.accountType, count: transactions.length });
    return {
      text: `${heading} ${lines.join('; ')}.`,
      messages: [{ type: 'text', text: heading }, ...lines.map((line) => ({ type: 'text' as const, text: line }))],
      contexts: [
        {
          name: 'account-info',
          lifespan: 5,
          parameters: { user_id: customerNumber, account_type: account.accountType },
        },
      ],
      source: BANKING_SOURCE,
    };
  }

  /** The named account; the only account when none is named; otherwise the list to choose from. */
  private async resolveAccount(
    customerNumber: string,
    accountType: string | undefined,
    signal: AbortSignal,
  ): Promise<AccountView | readonly AccountView[] | null> {
    if (accountType) {
      const account = await this.accounts.findAccount(customerNumber, accountType, signal);
      if (account) return account;
    }
    const owned = await this.accounts.listAccounts(customerNumber);
    return owned.length === 1 && !accountType ? owned[0] : owned;
  }
}

/** `Array.isArray` does not narrow a read-only array (TypeScript #17002). */
function isAccountList(value: AccountView | readonly AccountView[]): value is readonly AccountView[] {
  return Array.isArray(value);
}
