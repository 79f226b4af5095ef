// The README request: the one every benchmark target answers.
export const README_BODY = JSON.stringify({
  responseId: 'ea3d77e8-ae27-41a4-9e1d-174bd461b68c',
  session: 'projects/project-id/agent/sessions/session-id',
  queryResult: {
    queryText: 'What is my account balance?',
    intent: { name: 'projects/project-id/agent/intents/1', displayName: 'GetAccountBalance' },
    parameters: { user_id: '12345', account_type: 'checking' },
    intentDetectionConfidence: 0.95,
    languageCode: 'en',
  },
  originalDetectIntentRequest: { payload: { timestamp: '2025-06-24T12:34:56Z' } },
});

/** The same indexed read the GetAccountBalance handler makes (customer number is unique, (customer, type) too). */
export const BALANCE_SQL =
  'SELECT a.id, a.customer_id, a.account_type, a.account_number_last4, a.currency, a.balance_minor, a.balance_updated_at ' +
  'FROM accounts a INNER JOIN customers c ON c.id = a.customer_id WHERE c.customer_number = $1 AND a.account_type = $2';
