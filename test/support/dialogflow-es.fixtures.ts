import readmeRequest from '../fixtures/dialogflow-es-readme-request.json';

/** The request from the README, exactly as the curl example sends it. */
export const README_REQUEST = readmeRequest;

export const LOCAL_DEV_AUTH = { Authorization: 'Bearer local-dev-token' };

export function esRequest(
  intent: string,
  parameters: Record<string, unknown> = {},
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    responseId: `resp-${Math.random().toString(36).slice(2)}`,
    session: 'projects/project-id/agent/sessions/session-id',
    queryResult: {
      queryText: 'test',
      intent: { displayName: intent },
      parameters,
      allRequiredParamsPresent: true,
      languageCode: 'en',
    },
    ...overrides,
  };
}

/**
 * A transfer the customer declines (confirmation "no"): a state-changing turn that moves no money, so sending it
 * twice shows an idempotent replay without touching a balance.
 */
export function declinedTransfer(): Record<string, unknown> {
  return esRequest('TransferFunds', {
    user_id: '12345',
    from_account: 'checking',
    to_account: 'savings',
    amount: 1,
    confirmation: 'no',
  });
}
