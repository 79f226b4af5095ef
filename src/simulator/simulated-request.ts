import { createHash, randomUUID } from 'node:crypto';
import type { Platform } from '../fulfillment';

export interface Turn {
  readonly platform: Platform;
  readonly intent: string;
  /** Parameters of this turn merged with those remembered from earlier turns of the session. */
  readonly parameters: Readonly<Record<string, string>>;
  readonly sessionParameters: Readonly<Record<string, unknown>>;
  /** Dialogflow ES contexts carried from the previous answer (full names). */
  readonly esContexts: readonly unknown[];
  readonly sessionId: string;
  readonly languageCode: string;
  readonly text: string;
  readonly confirmation?: 'yes' | 'no';
  readonly stage: 'dialog' | 'fulfillment';
}

export const PATHS: Record<Platform, string> = {
  'dialogflow-es': '/v1/webhooks/dialogflow-es',
  'dialogflow-cx': '/v1/webhooks/dialogflow-cx',
  'lex-v2': '/v1/webhooks/lex-v2',
  rasa: '/v1/webhooks/rasa',
  generic: '/v1/webhooks/generic',
};

/** `GetAccountBalance` → `action_get_account_balance`, the default Rasa action name. */
export function rasaActionName(intent: string): string {
  return `action_${intent.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}`;
}

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
  return `${lower}_${(region ?? DEFAULT_REGION[lower] ?? lower).toUpperCase()}`;
}

/** A request as the platform itself would send it for this turn. */
export function buildRequest(turn: Turn): Record<string, unknown> {
  const withConfirmation = turn.confirmation
    ? { ...turn.parameters, confirmation: turn.confirmation }
    : turn.parameters;
  switch (turn.platform) {
    case 'dialogflow-es':
      return {
        responseId: randomUUID(),
        session: `projects/simulator/agent/sessions/${turn.sessionId}`,
        queryResult: {
          queryText: turn.text,
          parameters: withConfirmation,
          allRequiredParamsPresent: true,
          outputContexts: turn.esContexts,
          intent: { name: `projects/simulator/agent/intents/${turn.intent}`, displayName: turn.intent },
          intentDetectionConfidence: 1,
          languageCode: turn.languageCode,
        },
        originalDetectIntentRequest: { source: 'simulator', payload: {} },
      };
    case 'dialogflow-cx':
      return {
        detectIntentResponseId: randomUUID(),
        languageCode: turn.languageCode,
        fulfillmentInfo: { tag: turn.intent },
        intentInfo: {
          lastMatchedIntent: `projects/simulator/locations/global/agents/simulator/intents/${turn.intent}`,
          displayName: turn.intent,
          parameters: Object.fromEntries(
            Object.entries(withConfirmation).map(([k, v]) => [k, { originalValue: v, resolvedValue: v }]),
          ),
          confidence: 1,
        },
        sessionInfo: {
          session: `projects/simulator/locations/global/agents/simulator/sessions/${turn.sessionId}`,
          parameters: { ...turn.sessionParameters, ...withConfirmation },
        },
        text: turn.text,
      };
    case 'lex-v2': {
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
    }
    case 'rasa': {
      const slots = { ...turn.sessionParameters, ...withConfirmation };
      return {
        next_action: rasaActionName(turn.intent),
        sender_id: turn.sessionId,
        tracker: {
          sender_id: turn.sessionId,
          slots,
          latest_message: {
            text: turn.text,
            intent: { name: turn.intent, confidence: 1 },
            entities: [],
            metadata: { language: turn.languageCode },
          },
          latest_action_name: 'action_listen',
          events: [{ event: 'user', text: turn.text, timestamp: Date.now() / 1000 }],
        },
        domain: { slots: Object.fromEntries(Object.keys(slots).map((name) => [name, { type: 'any' }])) },
        version: '3.6.0',
      };
    }
    case 'generic':
      return {
        requestId: randomUUID(),
        sessionId: turn.sessionId,
        intent: turn.intent,
        parameters: turn.parameters,
        sessionParameters: turn.sessionParameters,
        languageCode: turn.languageCode,
        text: turn.text,
        stage: turn.stage,
        confirmation: turn.confirmation === 'yes' ? 'confirmed' : turn.confirmation === 'no' ? 'denied' : 'none',
      };
  }
}

/** What the platform would remember from our answer for the next turn. */
export function rememberFromResponse(
  platform: Platform,
  body: Record<string, unknown>,
  previous: Readonly<Record<string, unknown>>,
): { sessionParameters: Record<string, unknown>; esContexts: unknown[] } {
  const merged = (updates: Record<string, unknown> | undefined) => {
    const next: Record<string, unknown> = { ...previous };
    for (const [key, value] of Object.entries(updates ?? {})) {
      if (value === null) delete next[key];
      else next[key] = value;
    }
    return next;
  };
  switch (platform) {
    case 'dialogflow-es':
      return { sessionParameters: { ...previous }, esContexts: (body.outputContexts as unknown[] | undefined) ?? [] };
    case 'dialogflow-cx':
      return {
        sessionParameters: merged((body.sessionInfo as { parameters?: Record<string, unknown> })?.parameters),
        esContexts: [],
      };
    case 'lex-v2':
      return {
        sessionParameters: merged(
          (body.sessionState as { sessionAttributes?: Record<string, unknown> } | undefined)?.sessionAttributes,
        ),
        esContexts: [],
      };
    case 'rasa': {
      const updates: Record<string, unknown> = {};
      for (const event of (body.events as { event?: string; name?: string; value?: unknown }[] | undefined) ?? []) {
        if (event.event === 'slot' && event.name) updates[event.name] = event.value;
      }
      return { sessionParameters: merged(updates), esContexts: [] };
    }
    case 'generic':
      return {
        sessionParameters: merged(body.sessionParameters as Record<string, unknown> | undefined),
        esContexts: [],
      };
  }
}

/** A stable session id derived from a session name, so `--session demo` means the same session every time. */
export function sessionIdFor(name: string): string {
  return `sim-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}
