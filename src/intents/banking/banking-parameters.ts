import type { FulfillmentResult } from '../../fulfillment';
import type { AccountView } from './accounts.repository';

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

export function listAccountTypes(accounts: readonly AccountView[]): string {
  return new Intl.ListFormat('en', { type: 'disjunction' }).format(accounts.map((a) => a.accountType));
}

export function askForCustomerNumber(): FulfillmentResult {
  return {
    text: 'I need your customer number to look that up. What is it?',
    elicit: { parameter: 'user_id' },
    source: BANKING_SOURCE,
  };
}

export function unknownCustomer(): FulfillmentResult {
  return {
    text: "I couldn't find any accounts for that customer number. Please check it and try again.",
    source: BANKING_SOURCE,
  };
}

/** Asks which account to use, offering the customer's own account types as quick replies. */
export function askWhichAccount(accounts: readonly AccountView[], question: string, userId: string): FulfillmentResult {
  const text = `${question}: ${listAccountTypes(accounts)}?`;
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
