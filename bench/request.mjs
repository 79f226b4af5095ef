import { readFileSync } from 'node:fs';

// The README request (shared with the e2e tests): the one every benchmark target answers.
export const README_BODY = JSON.stringify(
  JSON.parse(readFileSync(new URL('../test/fixtures/dialogflow-es-readme-request.json', import.meta.url), 'utf8')),
);

/** The same indexed read the GetAccountBalance handler makes (customer number is unique, (customer, type) too). */
export const BALANCE_SQL =
  'SELECT a.id, a.customer_id, a.account_type, a.account_number_last4, a.currency, a.balance_minor, a.balance_updated_at ' +
  'FROM accounts a INNER JOIN customers c ON c.id = a.customer_id WHERE c.customer_number = $1 AND a.account_type = $2';

/** A confirmed TransferFunds turn of one cent (generic format); `__TURN_ID__` is replaced per request by load.mjs. */
export const transferBody = (turnId, customer = '__CUSTOMER__') =>
  JSON.stringify({
    requestId: turnId,
    sessionId: 'bench-transfer',
    intent: 'TransferFunds',
    stage: 'fulfillment',
    confirmation: 'confirmed',
    parameters: { user_id: customer, from_account: 'checking', to_account: 'savings', amount: 0.01 },
  });

/**
 * The same GetAccountBalance request in each platform's own format (the e2e fixtures): bench/run.mjs's platform rows,
 * and bench:profile's PROFILE_TURN=<key>.
 */
export const PLATFORM_RUNS = [
  {
    key: 'cx',
    name: 'service, Dialogflow CX',
    path: '/v1/webhooks/dialogflow-cx',
    fixture: 'dialogflow-cx/get-account-balance.json',
  },
  {
    key: 'lex',
    name: 'service, Amazon Lex V2',
    path: '/v1/webhooks/lex-v2',
    fixture: 'lex-v2/get-account-balance-fulfillment.json',
  },
  {
    key: 'rasa',
    name: 'service, Rasa action server',
    path: '/v1/webhooks/rasa',
    fixture: 'rasa/action_get_account_balance.json',
  },
  {
    key: 'generic',
    name: 'service, generic JSON',
    path: '/v1/webhooks/generic',
    fixture: 'generic/get-account-balance.json',
  },
];

/** A platform row's request body, as sent (the fixture without its formatting). */
export const platformBody = ({ fixture }) =>
  JSON.stringify(JSON.parse(readFileSync(new URL(`../test/fixtures/${fixture}`, import.meta.url), 'utf8')));
