import { randomUUID } from 'node:crypto';
import { mergeSessionParameters, type PlatformSimulation, textsOf, withConfirmation } from '../platform-simulation';
import { simulatedDate } from '../simulated-dates';

/** A parameter's value as CX resolves it: @sys.date as `{year, month, day}`, anything else as typed. */
function resolved(name: string, value: string): unknown {
  return simulatedDate(name, value) ?? value;
}

export const dialogflowCxSimulation: PlatformSimulation = {
  path: '/v1/webhooks/dialogflow-cx',
  request: (turn) => {
    const typed = withConfirmation(turn);
    const parameters = Object.fromEntries(Object.entries(typed).map(([name, value]) => [name, resolved(name, value)]));
    return {
      detectIntentResponseId: randomUUID(),
      languageCode: turn.languageCode,
      fulfillmentInfo: { tag: turn.intent },
      intentInfo: {
        lastMatchedIntent: `projects/simulator/locations/global/agents/simulator/intents/${turn.intent}`,
        displayName: turn.intent,
        parameters: Object.fromEntries(
          Object.entries(typed).map(([name, value]) => [
            name,
            { originalValue: value, resolvedValue: parameters[name] },
          ]),
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
