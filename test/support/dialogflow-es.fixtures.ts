/** The request from the README, exactly as the curl example sends it. */
export const README_REQUEST = {
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
};

export const LOCAL_DEV_AUTH = { Authorization: 'Bearer local-dev-token' };

export function esRequest(
  intent: string,
  parameters: Record<string, unknown> = {},
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    responseId: `resp-${Math.random().toString(36).slice(2)}`,
    session: 'projects/project-id/agent/sessions/session-id',
    queryResult: { queryText: 'test', intent: { displayName: intent }, parameters, languageCode: 'en' },
    ...overrides,
  };
}
