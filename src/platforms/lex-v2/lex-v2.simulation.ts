import { randomUUID } from 'node:crypto';
import { type PlatformSimulation, textsOf } from '../platform-simulation';

function lexSlots(parameters: Readonly<Record<string, string>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(parameters)
      .filter(([name]) => name !== 'confirmation')
      .map(([name, value]) => [
        name,
        { shape: 'Scalar', value: { originalValue: value, interpretedValue: value, resolvedValues: [value] } },
      ]),
  );
}

const DEFAULT_REGION: Record<string, string> = { en: 'US', es: 'US', pt: 'BR', zh: 'CN', ja: 'JP', ko: 'KR' };

/** `en` → `en_US`, `de-AT` → `de_AT`: Lex bots always run in a locale with a region. */
export function lexLocale(languageCode: string): string {
  const [language, region] = languageCode.split(/[-_]/);
  const lower = (language || 'en').toLowerCase();
  return `${lower}_${(region ?? (Object.hasOwn(DEFAULT_REGION, lower) ? DEFAULT_REGION[lower] : lower)).toUpperCase()}`;
}

export const lexV2Simulation: PlatformSimulation = {
  path: '/v1/webhooks/lex-v2',
  request: (turn) => {
    const intent = {
      name: turn.intent,
      slots: lexSlots(turn.parameters),
      state: turn.stage === 'dialog' ? 'InProgress' : 'ReadyForFulfillment',
      confirmationState: turn.confirmation === 'yes' ? 'Confirmed' : turn.confirmation === 'no' ? 'Denied' : 'None',
    };
    return {
      messageVersion: '1.0',
      invocationSource: turn.stage === 'dialog' ? 'DialogCodeHook' : 'FulfillmentCodeHook',
      inputMode: 'Text',
      responseContentType: 'text/plain; charset=utf-8',
      sessionId: turn.sessionId,
      inputTranscript: turn.text,
      bot: {
        id: 'SIMULATOR0',
        name: 'Simulator',
        aliasId: 'TSTALIASID',
        aliasName: 'TestBotAlias',
        localeId: lexLocale(turn.languageCode),
        version: 'DRAFT',
      },
      interpretations: [{ intent, nluConfidence: 1 }],
      sessionState: {
        sessionAttributes: Object.fromEntries(
          Object.entries(turn.sessionParameters).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
        ),
        intent,
        originatingRequestId: randomUUID(),
      },
    };
  },
  // Lex takes the answer's session attributes as the session's (one the adapter removed is simply absent), and a
  // slot the answer cleared (a value asked for again) is gone: an earlier --param is not sent again.
  remember: (body, previous) => {
    const state = body.sessionState as
      { sessionAttributes?: Record<string, unknown>; intent?: { slots?: Record<string, unknown> } } | undefined;
    const attributes = state?.sessionAttributes ?? {};
    const removed = Object.keys(previous).filter((name) => !Object.hasOwn(attributes, name));
    const clearedSlots = Object.entries(state?.intent?.slots ?? {})
      .filter(([, slot]) => slot === null)
      .map(([name]) => name);
    return { sessionParameters: { ...attributes }, esContexts: [], cleared: [...removed, ...clearedSlots] };
  },
  replyText: textsOf,
};
