import { randomUUID } from 'node:crypto';
import type { PlatformSimulation } from '../platform-simulation';
import { withConfirmation } from '../platform-simulation';

export const dialogflowEsSimulation: PlatformSimulation = {
  path: '/v1/webhooks/dialogflow-es',
  request: (turn) => ({
    responseId: randomUUID(),
    session: `projects/simulator/agent/sessions/${turn.sessionId}`,
    queryResult: {
      queryText: turn.text,
      parameters: withConfirmation(turn),
      allRequiredParamsPresent: true,
      outputContexts: turn.esContexts,
      intent: { name: `projects/simulator/agent/intents/${turn.intent}`, displayName: turn.intent },
      intentDetectionConfidence: 1,
      languageCode: turn.languageCode,
    },
    originalDetectIntentRequest: { source: 'simulator', payload: {} },
  }),
  // ES keeps session state in contexts: the next turn sends back the output contexts.
  remember: (body, previous) => ({
    sessionParameters: { ...previous },
    esContexts: (body.outputContexts as unknown[] | undefined) ?? [],
  }),
  replyText: (body) => (typeof body.fulfillmentText === 'string' ? body.fulfillmentText : ''),
};
