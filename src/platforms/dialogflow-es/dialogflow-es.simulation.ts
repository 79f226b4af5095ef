import { randomUUID } from 'node:crypto';
import type { PlatformSimulation } from '../platform-simulation';
import { withConfirmation } from '../platform-simulation';

interface EsContext {
  readonly name: string;
  readonly lifespanCount?: number;
}

/** The lifespan ES gives an output context that names none. */
const DEFAULT_LIFESPAN = 5;

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
  // ES keeps session state in contexts: each lives for its lifespan in turns (5 when not given), and an answer's
  // output contexts add to them or replace them by name (lifespan 0 ends one). An answer without contexts keeps
  // the others: the session-parameters context lives 50 turns.
  remember: (body, previous, previousContexts = []) => {
    const byName = new Map<string, EsContext>();
    for (const context of previousContexts as EsContext[]) {
      const lifespanCount = (context.lifespanCount ?? DEFAULT_LIFESPAN) - 1;
      if (lifespanCount > 0) byName.set(context.name, { ...context, lifespanCount });
    }
    for (const context of (body.outputContexts as EsContext[] | undefined) ?? []) {
      if ((context.lifespanCount ?? DEFAULT_LIFESPAN) <= 0) byName.delete(context.name);
      else byName.set(context.name, context);
    }
    return { sessionParameters: { ...previous }, esContexts: [...byName.values()] };
  },
  replyText: (body) => (typeof body.fulfillmentText === 'string' ? body.fulfillmentText : ''),
};
