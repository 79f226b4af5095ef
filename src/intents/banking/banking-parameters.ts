import { formatList, translator } from '../../fulfillment';
import type { FulfillmentResult, TemplateValues } from '../../fulfillment';
import type { AccountView } from './accounts.repository';
import { BANKING_MESSAGES, type BankingMessage } from './banking.messages';

export const BANKING_SOURCE = 'banking-api';
const CUSTOMER_NUMBER = /^[A-Za-z0-9-]{1,64}$/;
const ACCOUNT_TYPE = /^[a-z][a-z -]{0,31}$/;

/** The customer number from `user_id`; Dialogflow may send it as a string or a number. */
export function customerNumberFrom(parameters: Readonly<Record<string, unknown>>): string | undefined {
  const value = parameters.user_id;
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  return typeof text === 'string' && CUSTOMER_NUMBER.test(text.trim()) ? text.trim() : undefined;
}

/** The account type from `account_type`, normalised ("Checking Account" → "checking"). */
export function accountTypeFrom(parameters: Readonly<Record<string, unknown>>): string | undefined {
  const value = parameters.account_type;
  if (typeof value !== 'string') return undefined;
  const normalised = value
    .trim()
    .toLowerCase()
    .replace(/\s+account$/, '');
  return ACCOUNT_TYPE.test(normalised) ? normalised : undefined;
}

/** "checking or savings", joined in the reply language; account types stay as stored. */
export function listAccountTypes(accounts: readonly AccountView[], languageCode: string): string {
  return formatList(
    accounts.map((a) => a.accountType),
    languageCode,
    'disjunction',
  );
}

export function askForCustomerNumber(languageCode: string): FulfillmentResult {
  return {
    text: translator(BANKING_MESSAGES, languageCode)('askCustomerNumber'),
    elicit: { parameter: 'user_id' },
    source: BANKING_SOURCE,
  };
}

export function unknownCustomer(languageCode: string): FulfillmentResult {
  return { text: translator(BANKING_MESSAGES, languageCode)('unknownCustomer'), source: BANKING_SOURCE };
}

/**
 * Asks which account to use, offering the customer's own account types as quick replies. `question` is a
 * banking message with an `{accounts}` placeholder for the list.
 */
export function askWhichAccount(
  accounts: readonly AccountView[],
  question: BankingMessage,
  userId: string,
  languageCode: string,
  values: TemplateValues = {},
): FulfillmentResult {
  const text = translator(BANKING_MESSAGES, languageCode)(question, {
    ...values,
    accounts: listAccountTypes(accounts, languageCode),
  });
  return {
    text,
    messages: [
      { type: 'text', text },
      { type: 'quick-replies', replies: accounts.map((account) => account.accountType) },
    ],
    contexts: [{ name: 'awaiting-account-type', lifespan: 2, parameters: { user_id: userId } }],
    elicit: { parameter: 'account_type' },
    source: BANKING_SOURCE,
  };
}
