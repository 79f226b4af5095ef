import 'reflect-metadata';

import { plainToInstance } from 'class-transformer';
import { validate, ValidationError } from 'class-validator';

import {
  DIALOGFLOW_ES_CONTEXT_PATTERN,
  DIALOGFLOW_ES_SESSION_PATTERN,
  DialogflowEsContext,
  DialogflowEsIntent,
  DialogflowEsQueryResult,
  DialogflowEsWebhookRequest,
  parseDialogflowEsSession,
} from './dialogflow-es.request';

const SESSION = 'projects/project-id/agent/sessions/session-id';
const SESSION_ERROR =
  'session: session must be a Dialogflow ES session name such as projects/<project>/agent/sessions/<session>';

function seed() {
  return {
    responseId: 'ea3d77e8-ae27-41a4-9e1d-174bd461b68c',
    session: SESSION,
    queryResult: {
      queryText: 'What is my account balance?',
      intent: {
        name: 'projects/project-id/agent/intents/1',
        displayName: 'GetAccountBalance',
      },
      parameters: { user_id: '12345', account_type: 'checking' },
      intentDetectionConfidence: 0.95,
      languageCode: 'en',
    },
    originalDetectIntentRequest: {
      payload: { timestamp: '2025-06-24T12:34:56Z' },
    },
  };
}

type Seed = ReturnType<typeof seed>;

function omit(plain: object, key: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(plain).filter(([k]) => k !== key));
}

function withQueryResult(extra: Record<string, unknown>): Record<string, unknown> {
  const req = seed();
  return { ...req, queryResult: { ...req.queryResult, ...extra } };
}

function withContexts(outputContexts: unknown): Record<string, unknown> {
  return withQueryResult({ outputContexts });
}

/** Flattens class-validator errors into `a.b[0].c: message` strings. */
function flattenErrors(errors: ValidationError[], parentPath = ''): string[] {
  return errors.flatMap((error) => {
    const path =
      parentPath === ''
        ? error.property
        : /^\d+$/.test(error.property)
          ? `${parentPath}[${error.property}]`
          : `${parentPath}.${error.property}`;
    const own = Object.values(error.constraints ?? {}).map((message) => `${path}: ${message}`);
    return [...own, ...flattenErrors(error.children ?? [], path)];
  });
}

async function validateRaw(plain: object): Promise<ValidationError[]> {
  const dto = plainToInstance(DialogflowEsWebhookRequest, plain);
  return validate(dto, {
    whitelist: false,
    forbidNonWhitelisted: false,
    forbidUnknownValues: false,
  });
}

async function check(plain: object): Promise<string[]> {
  return flattenErrors(await validateRaw(plain));
}

function paths(messages: string[]): string[] {
  return [...new Set(messages.map((m) => m.slice(0, m.indexOf(': '))))];
}

describe('DialogflowEsWebhookRequest', () => {
  it('accepts the seed request with zero errors', async () => {
    expect(await check(seed())).toEqual([]);
  });

  it('transforms nested objects into DTO instances', () => {
    const req = seed();
    const dto = plainToInstance(DialogflowEsWebhookRequest, {
      ...req,
      queryResult: {
        ...req.queryResult,
        outputContexts: [{ name: `${SESSION}/contexts/ctx` }],
      },
    });
    expect(dto).toBeInstanceOf(DialogflowEsWebhookRequest);
    expect(dto.queryResult).toBeInstanceOf(DialogflowEsQueryResult);
    expect(dto.queryResult.intent).toBeInstanceOf(DialogflowEsIntent);
    expect(dto.queryResult.outputContexts?.[0]).toBeInstanceOf(DialogflowEsContext);
    expect(dto.queryResult.parameters).toEqual({ user_id: '12345', account_type: 'checking' });
    expect(dto).toHaveProperty('originalDetectIntentRequest.payload', { timestamp: '2025-06-24T12:34:56Z' });
  });

  it('accepts a request that uses every documented field', async () => {
    const queryResult = {
      queryText: 'hello',
      languageCode: 'en-US',
      speechRecognitionConfidence: 0.8,
      action: 'input.welcome',
      parameters: { n: 1, nested: { a: [1, 2] } },
      allRequiredParamsPresent: true,
      cancelsSlotFilling: false,
      fulfillmentText: 'Hi!',
      fulfillmentMessages: [{ text: { text: ['Hi!'] } }, { platform: 'SLACK', payload: {} }],
      webhookSource: 'src',
      webhookPayload: { google: { expectUserResponse: true } },
      outputContexts: [
        { name: `${SESSION}/contexts/a`, lifespanCount: 5, parameters: { x: 'y' } },
        { name: `${SESSION}/contexts/b` },
      ],
      intent: {
        name: 'projects/project-id/agent/intents/1',
        displayName: 'Default Welcome Intent',
        webhookState: 'WEBHOOK_STATE_ENABLED',
        priority: 500000,
        isFallback: false,
        mlDisabled: false,
        mlEnabled: true,
        liveAgentHandoff: false,
        endInteraction: false,
        inputContextNames: [`${SESSION}/contexts/a`],
        events: ['WELCOME'],
        trainingPhrases: [{ type: 'EXAMPLE', parts: [{ text: 'hi' }] }],
        action: 'input.welcome',
        outputContexts: [{ name: `${SESSION}/contexts/a`, lifespanCount: 2 }],
        resetContexts: false,
        parameters: [{ displayName: 'n', entityTypeDisplayName: '@sys.number' }],
        messages: [{ text: { text: ['Hi!'] } }],
        defaultResponsePlatforms: ['SLACK'],
        rootFollowupIntentName: 'projects/project-id/agent/intents/0',
        parentFollowupIntentName: 'projects/project-id/agent/intents/0',
        followupIntentInfo: [{ followupIntentName: 'projects/project-id/agent/intents/2' }],
      },
      intentDetectionConfidence: 1,
      diagnosticInfo: { webhook_latency_ms: 12 },
      sentimentAnalysisResult: { queryTextSentiment: { score: 0.4, magnitude: 0.4 } },
      knowledgeAnswers: { answers: [{ answer: '42', matchConfidenceLevel: 'HIGH' }] },
    };
    const req = {
      ...seed(),
      queryResult,
      alternativeQueryResults: [{ ...queryResult, intent: { displayName: 'Knowledge.KnowledgeBase.1' } }],
      originalDetectIntentRequest: { source: 'google', version: '2', payload: {} },
    };
    expect(await check(req)).toEqual([]);
  });

  describe('session', () => {
    const forms: Array<[string, ReturnType<typeof parseDialogflowEsSession>]> = [
      ['projects/p1/agent/sessions/s1', { project: 'p1', sessionId: 's1' }],
      [
        'projects/p1/agent/environments/draft/users/-/sessions/s1',
        { project: 'p1', environment: 'draft', user: '-', sessionId: 's1' },
      ],
      [
        'projects/p1/locations/europe-west1/agent/sessions/s1',
        { project: 'p1', location: 'europe-west1', sessionId: 's1' },
      ],
      [
        'projects/p1/locations/global/agent/environments/prod/users/u-42/sessions/abc.DEF_1',
        {
          project: 'p1',
          location: 'global',
          environment: 'prod',
          user: 'u-42',
          sessionId: 'abc.DEF_1',
        },
      ],
    ];

    it.each(forms)('accepts %s', async (session, expected) => {
      expect(await check({ ...seed(), session })).toEqual([]);
      expect(parseDialogflowEsSession(session)).toEqual(expected);
      expect(DIALOGFLOW_ES_SESSION_PATTERN.test(session)).toBe(true);
    });

    it('omits absent optional groups from the parsed result', () => {
      expect(Object.keys(parseDialogflowEsSession(SESSION) ?? {})).toEqual(['project', 'sessionId']);
    });

    it.each([
      'projects/p/sessions/s',
      'projects//agent/sessions/s',
      'foo',
      'projects/p/agent/sessions/s/',
      '',
      '/projects/p/agent/sessions/s',
      'projects/p/agent/sessions/',
      'projects/p/agent/sessions/s/extra',
      'projects/p/agent/environments/e/sessions/s',
      'projects/p/agent/users/u/sessions/s',
      'projects/p/locations//agent/sessions/s',
      'projects/p/locations/l/agent/environments/e/users//sessions/s',
      'projects/p/agent/sessions/s/contexts/c',
      'xprojects/p/agent/sessions/s',
    ])('rejects %j', async (session) => {
      const errors = await validateRaw({ ...seed(), session });
      expect(errors.map((e) => e.property)).toEqual(['session']);
      expect(flattenErrors(errors)).toContain(SESSION_ERROR);
      expect(parseDialogflowEsSession(session)).toBeUndefined();
    });

    it('rejects a missing or non-string session', async () => {
      expect(paths(await check(omit(seed(), 'session')))).toEqual(['session']);
      expect(await check({ ...seed(), session: 42 })).toEqual(
        expect.arrayContaining(['session: session must be a string', SESSION_ERROR]),
      );
    });
  });

  describe('required fields', () => {
    it('reports a missing queryResult.intent.displayName with a nested path', async () => {
      const req: Seed = seed();
      const errors = await validateRaw({
        ...req,
        queryResult: { ...req.queryResult, intent: { name: req.queryResult.intent.name } },
      });

      expect(errors).toHaveLength(1);
      const [queryResultError] = errors;
      expect(queryResultError?.property).toBe('queryResult');
      const intentError = queryResultError?.children?.find((c) => c.property === 'intent');
      const displayNameError = intentError?.children?.find((c) => c.property === 'displayName');
      expect(displayNameError?.constraints).toEqual(
        expect.objectContaining({ isNotEmpty: expect.any(String), isString: expect.any(String) }),
      );

      const messages = flattenErrors(errors);
      expect(paths(messages)).toEqual(['queryResult.intent.displayName']);
      expect(messages).toContain('queryResult.intent.displayName: displayName should not be empty');
    });

    it('rejects an empty or over-long displayName', async () => {
      const req = seed();
      const tooLong = 'x'.repeat(513);
      expect(paths(await check(withQueryResult({ intent: { ...req.queryResult.intent, displayName: '' } })))).toEqual([
        'queryResult.intent.displayName',
      ]);
      expect(await check(withQueryResult({ intent: { ...req.queryResult.intent, displayName: tooLong } }))).toEqual([
        'queryResult.intent.displayName: displayName must be shorter than or equal to 512 characters',
      ]);
      expect(
        await check(withQueryResult({ intent: { ...req.queryResult.intent, displayName: 'x'.repeat(512) } })),
      ).toEqual([]);
    });

    it('rejects a missing intent', async () => {
      const queryResult = omit(seed().queryResult, 'intent');
      expect(paths(await check({ ...seed(), queryResult }))).toEqual(['queryResult.intent']);
    });

    it('rejects a missing or non-object queryResult', async () => {
      expect(paths(await check(omit(seed(), 'queryResult')))).toEqual(['queryResult']);
      expect(paths(await check({ ...seed(), queryResult: 'x' }))).toEqual(['queryResult']);
    });

    it('rejects a missing or empty responseId', async () => {
      expect(paths(await check(omit(seed(), 'responseId')))).toEqual(['responseId']);
      expect(await check({ ...seed(), responseId: '' })).toEqual(['responseId: responseId should not be empty']);
    });

    it('does not require originalDetectIntentRequest', async () => {
      expect(await check(omit(seed(), 'originalDetectIntentRequest'))).toEqual([]);
    });
  });

  describe('unknown fields', () => {
    it('tolerates unknown fields at every level and keeps them on the instance', async () => {
      const req = seed();
      const plain = {
        ...req,
        someFutureField: { a: 1 },
        queryResult: {
          ...req.queryResult,
          undocumented: 'x',
          intent: { ...req.queryResult.intent, brandNewFlag: true, nested: [1, 2] },
          outputContexts: [{ name: `${SESSION}/contexts/c`, extra: 1 }],
        },
        originalDetectIntentRequest: { ...req.originalDetectIntentRequest, extra: null },
        alternativeQueryResults: [{ intent: { displayName: 'Alt', extra: 1 }, extra: 2 }],
      };
      expect(await check(plain)).toEqual([]);

      const dto = plainToInstance(DialogflowEsWebhookRequest, plain);
      expect(dto).toHaveProperty('someFutureField', { a: 1 });
      expect(dto.queryResult).toHaveProperty('undocumented', 'x');
      expect(dto.queryResult.intent).toHaveProperty('brandNewFlag', true);
    });
  });

  describe('wrong types in fields the service acts on', () => {
    it.each<[string, Record<string, unknown>, string]>([
      ['parameters "x"', { parameters: 'x' }, 'queryResult.parameters'],
      ['parameters as array', { parameters: [] }, 'queryResult.parameters'],
      ['queryText number', { queryText: 1 }, 'queryResult.queryText'],
      ['languageCode number', { languageCode: 1 }, 'queryResult.languageCode'],
      ['outputContexts [{name: 5}]', { outputContexts: [{ name: 5 }] }, 'queryResult.outputContexts[0].name'],
      ['intent string', { intent: 'GetAccountBalance' }, 'queryResult.intent'],
      ['intent.displayName number', { intent: { displayName: 7 } }, 'queryResult.intent.displayName'],
    ])('rejects %s', async (_label, extra, path) => {
      const messages = await check(withQueryResult(extra));
      expect(paths(messages)).toEqual([path]);
    });

    it('rejects a non-array outputContexts', async () => {
      // class-validator also validates the lone object as a context, hence the extra child error.
      expect(paths(await check(withQueryResult({ outputContexts: {} })))).toEqual([
        'queryResult.outputContexts',
        'queryResult.outputContexts.name',
      ]);
      expect(paths(await check(withQueryResult({ outputContexts: 'x' })))).toEqual(['queryResult.outputContexts']);
    });
  });

  describe('fields the service does not read are tolerated in any shape', () => {
    it.each<[string, Record<string, unknown>]>([
      ['intentDetectionConfidence "high"', { intentDetectionConfidence: 'high' }],
      ['intentDetectionConfidence > 1', { intentDetectionConfidence: 1.5 }],
      ['speechRecognitionConfidence > 1', { speechRecognitionConfidence: 2 }],
      ['allRequiredParamsPresent "true"', { allRequiredParamsPresent: 'true' }],
      ['cancelsSlotFilling 1', { cancelsSlotFilling: 1 }],
      ['fulfillmentMessages object', { fulfillmentMessages: {} }],
      ['fulfillmentMessages of strings', { fulfillmentMessages: ['hi'] }],
      ['webhookPayload string', { webhookPayload: 'x' }],
      ['diagnosticInfo string', { diagnosticInfo: 'x' }],
      ['sentimentAnalysisResult number', { sentimentAnalysisResult: 1 }],
      ['knowledgeAnswers string', { knowledgeAnswers: 'x' }],
      ['intent.isFallback string', { intent: { displayName: 'a', isFallback: 'no' } }],
      ['intent.endInteraction string', { intent: { displayName: 'a', endInteraction: 'y' } }],
      ['intent.name number', { intent: { displayName: 'a', name: 7 } }],
    ])('accepts %s', async (_label, extra) => {
      expect(await check(withQueryResult(extra))).toEqual([]);
    });

    it('ignores Intent resource fields that webhook requests never carry, whatever their shape', async () => {
      const extra = { intent: { displayName: 'a', priority: 1.5, events: [1], parameters: {}, trainingPhrases: 'x' } };
      expect(await check(withQueryResult(extra))).toEqual([]);
    });

    it('accepts originalDetectIntentRequest in any shape', async () => {
      expect(await check({ ...seed(), originalDetectIntentRequest: 'x' })).toEqual([]);
      expect(
        await check({ ...seed(), originalDetectIntentRequest: { source: 1, version: true, payload: 'x' } }),
      ).toEqual([]);
    });

    it('accepts knowledge-connector alternativeQueryResults, which carry no intent', async () => {
      const knowledge = {
        queryText: 'what are your opening hours',
        knowledgeAnswers: { answers: [{ answer: 'We open at 9.', matchConfidence: 0.9 }] },
        intentDetectionConfidence: 'x',
      };
      expect(await check({ ...seed(), alternativeQueryResults: [knowledge] })).toEqual([]);
      expect(await check({ ...seed(), alternativeQueryResults: 'x' })).toEqual([]);
    });
  });

  describe('output contexts', () => {
    it.each([
      `${SESSION}/contexts/ctx`,
      'projects/p/agent/environments/e/users/u/sessions/s/contexts/ctx',
      'projects/p/locations/l/agent/sessions/s/contexts/ctx',
      'projects/p/locations/l/agent/environments/e/users/u/sessions/s/contexts/__system_counters__',
    ])('accepts %s', async (name) => {
      expect(await check(withContexts([{ name, lifespanCount: 0, parameters: {} }]))).toEqual([]);
    });

    it('exposes the context id as a named group', () => {
      const groups = DIALOGFLOW_ES_CONTEXT_PATTERN.exec(
        'projects/p/locations/l/agent/environments/e/users/u/sessions/s/contexts/await_answer',
      )?.groups;
      expect(groups).toEqual(
        expect.objectContaining({
          project: 'p',
          location: 'l',
          environment: 'e',
          user: 'u',
          sessionId: 's',
          context: 'await_answer',
        }),
      );
    });

    it.each([
      'ctx',
      `${SESSION}/contexts/`,
      `${SESSION}/contexts/a/b`,
      `${SESSION}/context/ctx`,
      `${SESSION}/ctx`,
      'projects/p/sessions/s/contexts/ctx',
      `/${SESSION}/contexts/ctx`,
    ])('rejects name %j', async (name) => {
      expect(await check(withContexts([{ name }]))).toEqual([
        'queryResult.outputContexts[0].name: name must be a Dialogflow ES context name such as projects/<project>/agent/sessions/<session>/contexts/<context>',
      ]);
    });

    it('rejects a missing name', async () => {
      expect(paths(await check(withContexts([{ lifespanCount: 1 }])))).toEqual(['queryResult.outputContexts[0].name']);
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['negative lifespanCount', { lifespanCount: -1 }, 'queryResult.outputContexts[1].lifespanCount'],
      ['fractional lifespanCount', { lifespanCount: 1.5 }, 'queryResult.outputContexts[1].lifespanCount'],
      ['string lifespanCount', { lifespanCount: '5' }, 'queryResult.outputContexts[1].lifespanCount'],
      ['string parameters', { parameters: 'x' }, 'queryResult.outputContexts[1].parameters'],
    ])('rejects %s', async (_label, extra, path) => {
      const contexts = [{ name: `${SESSION}/contexts/ok` }, { name: `${SESSION}/contexts/bad`, ...extra }];
      expect(paths(await check(withContexts(contexts)))).toEqual([path]);
    });
  });
});
