import { randomUUID } from 'node:crypto';
import type { PlatformSimulation } from '../platform-simulation';
import { withConfirmation } from '../platform-simulation';
import { simulatedDate } from '../simulated-dates';

interface EsContext {
  readonly name: string;
  readonly lifespanCount?: number;
  readonly parameters?: Readonly<Record<string, unknown>>;
}

/** The lifespan ES gives an output context that names none. */
const DEFAULT_LIFESPAN = 5;

/**
 * The active contexts as ES sends them with a matched intent: it copies the intent's parameters into each one, over
 * values of the same name, with each parameter's text as the user said it under `<name>.original`. A parameter given
 * to the simulator as `""` stands for one the user left unfilled, which ES copies as `""` too.
 */
function withIntentParameters(
  contexts: readonly EsContext[],
  parameters: Readonly<Record<string, string>>,
  typed: Readonly<Record<string, string>>,
): EsContext[] {
  const merged = Object.fromEntries(
    Object.entries(parameters).flatMap(([name, value]) => [
      [name, value],
      [`${name}.original`, typed[name] ?? value],
    ]),
  );
  return contexts.map((context) => ({ ...context, parameters: { ...context.parameters, ...merged } }));
}

/**
 * `@sys.date` resolves a day to noon of it in the agent's time zone: `2026-12-07T12:00:00+00:00` (the simulator's
 * days are UTC ones). Its `.original` in the contexts stays the text as typed.
 */
function resolvedParameters(parameters: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(parameters).map(([name, value]) => [
      name,
      simulatedDate(name, value) ? `${value}T12:00:00+00:00` : value,
    ]),
  );
}

export const dialogflowEsSimulation: PlatformSimulation = {
  path: '/v1/webhooks/dialogflow-es',
  request: (turn) => {
    const typed = withConfirmation(turn);
    const parameters = resolvedParameters(typed);
    return {
      responseId: randomUUID(),
      session: `projects/simulator/agent/sessions/${turn.sessionId}`,
      queryResult: {
        queryText: turn.text,
        parameters,
        allRequiredParamsPresent: true,
        outputContexts: withIntentParameters(turn.esContexts as EsContext[], parameters, typed),
        intent: { name: `projects/simulator/agent/intents/${turn.intent}`, displayName: turn.intent },
        intentDetectionConfidence: 1,
        languageCode: turn.languageCode,
      },
      originalDetectIntentRequest: { source: 'simulator', payload: {} },
    };
  },
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
