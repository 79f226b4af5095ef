import { randomUUID } from 'node:crypto';
import { mergeSessionParameters, type PlatformSimulation, textsOf, withConfirmation } from '../platform-simulation';

export const dialogflowCxSimulation: PlatformSimulation = {
  path: '/v1/webhooks/dialogflow-cx',
  request: (turn) => {
    const parameters = withConfirmation(turn);
    return {
      detectIntentResponseId: randomUUID(),
      languageCode: turn.languageCode,
      fulfillmentInfo: { tag: turn.intent },
      intentInfo: {
        lastMatchedIntent: `projects/simulator/locations/global/agents/simulator/intents/${turn.intent}`,
        displayName: turn.intent,
        parameters: Object.fromEntries(
          Object.entries(parameters).map(([k, v]) => [k, { originalValue: v, resolvedValue: v }]),
        ),
        confidence: 1,
      },
      sessionInfo: {
        session: `projects/simulator/locations/global/agents/simulator/sessions/${turn.sessionId}`,
        parameters: { ...turn.sessionParameters, ...parameters },
      },
      text: turn.text,
    };
  },
  remember: (body, previous) => ({
    ...mergeSessionParameters(
      previous,
      (body.sessionInfo as { parameters?: Record<string, unknown> } | undefined)?.parameters,
    ),
    esContexts: [],
  }),
  replyText: textsOf,
};
