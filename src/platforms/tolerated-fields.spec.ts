import 'reflect-metadata';

import type { Caller } from '../common/caller';
import { validateBody } from '../common/validation/validate-body';
import type { DispatchInput } from '../fulfillment';
import { toDispatchInput as cxInput, turnOf } from './dialogflow-cx/dialogflow-cx.adapter';
import { DialogflowCxWebhookRequest } from './dialogflow-cx/dialogflow-cx.request';
import { toDispatchInput as esInput } from './dialogflow-es/dialogflow-es.adapter';
import { DialogflowEsWebhookRequest } from './dialogflow-es/dialogflow-es.request';
import { toDispatchInput as lexInput } from './lex-v2/lex-v2.adapter';
import { LexV2Event } from './lex-v2/lex-v2.request';

/**
 * "Validate what we read; tolerate the rest", checked field by field. For each platform: a request using every
 * documented field, and the paths the service acts on. Every other path is replaced by values of every JSON
 * type (and removed): the request must still be accepted, and the turn the adapter makes of it must not change,
 * which also proves the list of read paths complete (a path that changes the turn is read, so it belongs there).
 */
const CALLER: Caller = { id: 'sweep', platforms: ['dialogflow-es', 'dialogflow-cx', 'lex-v2'] };
const ODD_VALUES: readonly unknown[] = [null, 42, -1.5, 'text', '', true, [], [1, 'x'], {}, { unknown: { deep: 1 } }];
const REMOVED = Symbol('removed');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface PlatformCase {
  readonly name: string;
  readonly body: Json;
  /** Paths the service acts on; `[]` stands for every array element, `*` for every key of a map. */
  readonly read: readonly string[];
  /** What the service makes of a validated request (the raw body left out). */
  readonly turn: (body: object) => unknown;
  readonly validate: (body: unknown) => object;
}

function withoutRaw(input: DispatchInput): Omit<DispatchInput, 'raw'> {
  const { raw: _raw, ...rest } = input;
  return rest;
}

/** Every path in a JSON value, e.g. `queryResult.outputContexts.[].name`, with a concrete way to reach it. */
function* pathsOf(value: Json, path: (string | number)[] = []): Generator<(string | number)[]> {
  if (path.length > 0) yield path;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) yield* pathsOf(value[index], [...path, index]);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) yield* pathsOf(child, [...path, key]);
  }
}

function matches(pattern: string[], path: (string | number)[]): boolean {
  return pattern.every((part, index) => {
    const step = path[index];
    if (part === '[]') return typeof step === 'number';
    return part === '*' || part === step;
  });
}

/** Read: under a read path (its own value or anything inside it), or on the way to one. */
function isRead(read: readonly string[], path: (string | number)[]): boolean {
  return read.some((pattern) => {
    const parts = pattern.split('.');
    return matches(parts.slice(0, path.length), path) || (parts.length <= path.length && matches(parts, path));
  });
}

function mutated(body: Json, path: (string | number)[], value: unknown): Json {
  const copy = structuredClone(body) as Record<string | number, unknown>;
  let parent = copy;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (value === REMOVED) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else {
    parent[last] = value;
  }
  return copy as Json;
}

const ES_SESSION = 'projects/bank-agent/agent/sessions/call-7';
const CX_AGENT = 'projects/p/locations/global/agents/a';

const CASES: readonly PlatformCase[] = [
  {
    name: 'Dialogflow ES',
    body: {
      responseId: 'resp-1',
      session: ES_SESSION,
      queryResult: {
        queryText: 'balance of my checking account',
        languageCode: 'en',
        speechRecognitionConfidence: 0.92,
        action: 'account.balance',
        parameters: { user_id: '12345', account_type: 'checking' },
        allRequiredParamsPresent: true,
        cancelsSlotFilling: false,
        fulfillmentText: 'One moment.',
        fulfillmentMessages: [
          { text: { text: ['One moment.'] } },
          { platform: 'TELEPHONY', telephonySynthesizeSpeech: {} },
        ],
        webhookSource: 'bank',
        webhookPayload: { google: {} },
        outputContexts: [{ name: `${ES_SESSION}/contexts/account-info`, lifespanCount: 2, parameters: { a: 1 } }],
        intent: {
          name: 'projects/bank-agent/agent/intents/1',
          displayName: 'GetAccountBalance',
          isFallback: false,
          endInteraction: false,
          liveAgentHandoff: false,
        },
        intentDetectionConfidence: 0.87,
        diagnosticInfo: { webhook_latency_ms: 12 },
        sentimentAnalysisResult: { queryTextSentiment: { score: 0.1, magnitude: 0.1 } },
        knowledgeAnswers: { answers: [{ answer: 'x', matchConfidence: 0.5 }] },
      },
      originalDetectIntentRequest: {
        source: 'GOOGLE_TELEPHONY',
        version: '2',
        payload: { telephony: { caller_id: '+1' } },
      },
      alternativeQueryResults: [
        { queryText: 'balance', knowledgeAnswers: { answers: [{ answer: 'See your app.' }] }, languageCode: 'en' },
      ],
    },
    read: [
      'responseId',
      'session',
      'queryResult.queryText',
      'queryResult.languageCode',
      'queryResult.parameters',
      'queryResult.outputContexts',
      'queryResult.intent.displayName',
      // Its absence is Google's way of writing false: slot filling (the dialog stage).
      'queryResult.allRequiredParamsPresent',
    ],
    validate: (body) => validateBody(DialogflowEsWebhookRequest, body, 'ES'),
    turn: (body) => withoutRaw(esInput(body as DialogflowEsWebhookRequest, CALLER)),
  },
  {
    name: 'Dialogflow CX',
    body: {
      detectIntentResponseId: 'd-1',
      languageCode: 'en',
      fulfillmentInfo: { tag: 'GetAccountBalance' },
      intentInfo: {
        lastMatchedIntent: `${CX_AGENT}/intents/i`,
        displayName: 'account.balance',
        parameters: { user_id: { originalValue: '12345', resolvedValue: 12345 } },
        confidence: 0.9,
      },
      pageInfo: {
        currentPage: `${CX_AGENT}/flows/f/pages/p`,
        displayName: 'Balance',
        formInfo: {
          parameterInfo: [
            { displayName: 'account_type', required: true, state: 'FILLED', value: 'checking', justCollected: true },
          ],
        },
      },
      sessionInfo: { session: `${CX_AGENT}/sessions/s-1`, parameters: { tier: 'gold' } },
      text: 'my checking balance',
      transcript: 'my checking balance',
      dtmfDigits: '1',
      triggerIntent: `${CX_AGENT}/intents/i`,
      triggerEvent: 'welcome',
      messages: [{ text: { text: ['One moment.'] }, responseType: 'ENTRY_PROMPT', source: 'VIRTUAL_AGENT' }],
      payload: { telephony: { caller_id: '+1' } },
      sentimentAnalysisResult: { score: 0.2, magnitude: 0.3 },
      languageInfo: { inputLanguageCode: 'en', resolvedLanguageCode: 'en', confidenceScore: 1 },
    },
    read: [
      'detectIntentResponseId',
      'languageCode',
      'languageInfo.resolvedLanguageCode',
      'fulfillmentInfo.tag',
      'intentInfo.displayName',
      'intentInfo.parameters',
      'pageInfo.currentPage',
      'pageInfo.formInfo.parameterInfo.[].displayName',
      'pageInfo.formInfo.parameterInfo.[].required',
      'pageInfo.formInfo.parameterInfo.[].state',
      'pageInfo.formInfo.parameterInfo.[].value',
      'sessionInfo',
      'text',
      'transcript',
      'dtmfDigits',
    ],
    validate: (body) => validateBody(DialogflowCxWebhookRequest, body, 'CX'),
    turn: (body) => {
      const request = body as DialogflowCxWebhookRequest;
      return { input: withoutRaw(cxInput(request, CALLER)), state: turnOf(request) };
    },
  },
  {
    name: 'Lex V2',
    body: {
      messageVersion: '1.0',
      invocationSource: 'DialogCodeHook',
      inputMode: 'Speech',
      responseContentType: 'audio/pcm',
      sessionId: 'lex-1',
      inputTranscript: 'checking balance',
      invocationLabel: 'label',
      bot: { id: 'B', name: 'Bank', aliasId: 'TSTALIASID', aliasName: 'Test', localeId: 'en_US', version: 'DRAFT' },
      interpretations: [
        {
          intent: { name: 'GetAccountBalance', slots: {}, state: 'InProgress', confirmationState: 'None' },
          nluConfidence: 0.91,
          interpretationSource: 'Lex',
        },
        { intent: { name: 'FallbackIntent', slots: {} }, nluConfidence: { score: 0.2 } },
      ],
      proposedNextState: { dialogAction: { type: 'ElicitSlot', slotToElicit: 'account_type' }, intent: { name: 'x' } },
      requestAttributes: { channel: 'voice' },
      sessionState: {
        activeContexts: [
          {
            name: 'account_info',
            contextAttributes: { a: '1' },
            timeToLive: { timeToLiveInSeconds: 60, turnsToLive: 2 },
          },
        ],
        sessionAttributes: { tier: 'gold' },
        runtimeHints: { slotHints: {} },
        dialogAction: { type: 'ElicitSlot', slotToElicit: 'account_type', slotElicitationStyle: 'Default' },
        intent: {
          name: 'GetAccountBalance',
          slots: {
            user_id: {
              shape: 'Scalar',
              value: { originalValue: '12345', interpretedValue: '12345', resolvedValues: ['12345'] },
            },
          },
          state: 'InProgress',
          confirmationState: 'None',
        },
        originatingRequestId: 'origin-1',
      },
      transcriptions: [
        {
          transcription: 'checking balance',
          transcriptionConfidence: 0.9,
          resolvedContext: { intent: 'x' },
          resolvedSlots: {},
        },
      ],
    },
    read: [
      'invocationSource',
      // Part of the turn's key: labelled dialog steps that call the code hook in one request are turns of their own.
      'invocationLabel',
      'sessionId',
      'inputTranscript',
      'bot.localeId',
      'proposedNextState',
      'requestAttributes',
      'sessionState.activeContexts',
      'sessionState.sessionAttributes',
      'sessionState.runtimeHints',
      'sessionState.intent.name',
      'sessionState.intent.slots.*.shape',
      'sessionState.intent.slots.*.value.interpretedValue',
      'sessionState.intent.slots.*.values',
      'sessionState.intent.slots.*.subSlots',
      'sessionState.intent.state',
      'sessionState.intent.confirmationState',
      'sessionState.originatingRequestId',
    ],
    validate: (body) => validateBody(LexV2Event, body, 'Lex'),
    turn: (body) => withoutRaw(lexInput(body as LexV2Event, CALLER)),
  },
];

describe.each(CASES)('$name: fields the service does not read', (platform) => {
  const baseline = platform.turn(platform.validate(platform.body));
  const unread = [...pathsOf(platform.body)].filter((path) => !isRead(platform.read, path));

  it('has fields to sweep, and the full request is accepted', () => {
    expect(unread.length).toBeGreaterThan(10);
  });

  it.each(unread.map((path) => [path.join('.'), path] as const))(
    'tolerates %s in any shape, or absent, without changing the turn',
    (_label, path) => {
      for (const value of [REMOVED, ...ODD_VALUES]) {
        const body = mutated(platform.body, path, value);
        let request: object;
        try {
          request = platform.validate(body);
        } catch (error) {
          throw new Error(
            `${String(value === REMOVED ? 'removing it' : JSON.stringify(value))} was refused: ${String(error)}`,
          );
        }
        expect(platform.turn(request)).toEqual(baseline);
      }
    },
  );
});
