import 'reflect-metadata';

import { plainToInstance } from 'class-transformer';
import { AppError } from '../../common/errors/app-error';
import { validateBody } from '../../common/validation/validate-body';
import balance from '../../../test/fixtures/dialogflow-cx/get-account-balance.json';
import invalidForm from '../../../test/fixtures/dialogflow-cx/form-parameter-invalid.json';
import transactions from '../../../test/fixtures/dialogflow-cx/get-recent-transactions.json';
import unknownFields from '../../../test/fixtures/dialogflow-cx/unknown-fields.json';
import { DIALOGFLOW_CX_SESSION_PATTERN, DialogflowCxWebhookRequest, routeOf } from './dialogflow-cx.request';

const AGENT = 'projects/p/locations/global/agents/a';

function seed(): Record<string, unknown> {
  return {
    detectIntentResponseId: 'r-1',
    fulfillmentInfo: { tag: 'GetAccountBalance' },
    sessionInfo: { session: `${AGENT}/sessions/s` },
  };
}

/** The fields named by a failed validation, or [] when the body is valid. */
function fields(body: unknown): string[] {
  try {
    validateBody(DialogflowCxWebhookRequest, body, 'CX');
    return [];
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return [...new Set(error.details.map((detail) => detail.field))];
  }
}

describe('DialogflowCxWebhookRequest', () => {
  it.each([
    ['GetAccountBalance', balance],
    ['GetRecentTransactions', transactions],
    ['a form parameter INVALID', invalidForm],
    ['unknown fields', unknownFields],
  ])('accepts the %s fixture', (_label, fixture) => {
    expect(fields(fixture)).toEqual([]);
  });

  it('accepts the smallest request', () => {
    expect(fields(seed())).toEqual([]);
  });

  it('keeps unknown fields at every level, and ignores them', () => {
    const dto = validateBody(DialogflowCxWebhookRequest, unknownFields, 'CX');
    expect(dto).toHaveProperty('someFutureGoogleField');
    expect(dto.fulfillmentInfo).toHaveProperty('webhookVersion', 'v9');
    expect(dto.intentInfo).toHaveProperty('brandNewIntentFlag', true);
    expect(dto.pageInfo?.formInfo).toHaveProperty('formVersion', 7);
    expect(dto.pageInfo?.formInfo?.parameterInfo?.[1]).toHaveProperty('newField', [1, 2]);
    expect(dto.sessionInfo).toHaveProperty('sessionTtl', '3600s');
  });

  it('accepts every documented input field', () => {
    const body = {
      ...seed(),
      text: 'hi',
      transcript: 'hi',
      triggerIntent: `${AGENT}/intents/i`,
      triggerEvent: 'sys.no-match-default',
      dtmfDigits: '123#',
      messages: [{ text: { text: ['Agent says'] } }],
      payload: { telephony: { caller_id: '+1' } },
      sentimentAnalysisResult: { score: -0.4, magnitude: 2.5 },
      languageInfo: { resolvedLanguageCode: 'en' },
    };
    expect(fields(body)).toEqual([]);
  });

  it.each([
    `${AGENT}/sessions/s`,
    `${AGENT}/environments/draft/sessions/s-1.x_Y`,
    'projects/p/locations/europe-west1/agents/a/sessions/s',
  ])('accepts the session %s', (session) => {
    expect(fields({ ...seed(), sessionInfo: { session } })).toEqual([]);
  });

  it.each([
    'projects/p/agent/sessions/s',
    'projects/p/locations/l/agents/a/sessions/',
    'projects/p/locations/l/agents/a/sessions/s/extra',
    `${AGENT}/environments/e/users/u/sessions/s`,
    'sessions/s',
  ])('rejects the session %s', (session) => {
    expect(fields({ ...seed(), sessionInfo: { session } })).toEqual(['sessionInfo.session']);
  });

  it('exposes the agent and session id', () => {
    expect(DIALOGFLOW_CX_SESSION_PATTERN.exec(`${AGENT}/environments/e/sessions/s`)?.groups).toMatchObject({
      agent: AGENT,
      project: 'p',
      location: 'global',
      agentId: 'a',
      environment: 'e',
      sessionId: 's',
    });
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['no detectIntentResponseId', { detectIntentResponseId: undefined }, ['detectIntentResponseId']],
    ['an empty detectIntentResponseId', { detectIntentResponseId: '' }, ['detectIntentResponseId']],
    ['no sessionInfo', { sessionInfo: undefined }, ['sessionInfo']],
    ['sessionInfo without session', { sessionInfo: {} }, ['sessionInfo.session']],
    [
      'sessionInfo.parameters as string',
      { sessionInfo: { session: `${AGENT}/sessions/s`, parameters: 'x' } },
      ['sessionInfo.parameters'],
    ],
    ['languageCode number', { languageCode: 1 }, ['languageCode']],
    ['fulfillmentInfo string', { fulfillmentInfo: 'x' }, ['fulfillmentInfo']],
    ['fulfillmentInfo.tag number', { fulfillmentInfo: { tag: 5 } }, ['fulfillmentInfo.tag']],
    ['intentInfo.displayName number', { intentInfo: { displayName: 1 } }, ['intentInfo.displayName']],
    ['intentInfo.parameters array', { intentInfo: { parameters: [] } }, ['intentInfo.parameters']],
    [
      'an intent parameter that is not an object',
      { intentInfo: { parameters: { a: 'x' } } },
      ['intentInfo.parameters'],
    ],
    [
      'an intent parameter with a numeric originalValue',
      { intentInfo: { parameters: { a: { originalValue: 1, resolvedValue: 1 } } } },
      ['intentInfo.parameters'],
    ],
    ['pageInfo.currentPage number', { pageInfo: { currentPage: 1 } }, ['pageInfo.currentPage']],
    [
      // class-validator also validates the lone object as a parameter, hence the child error.
      'formInfo.parameterInfo object',
      { pageInfo: { formInfo: { parameterInfo: {} } } },
      ['pageInfo.formInfo.parameterInfo', 'pageInfo.formInfo.parameterInfo.displayName'],
    ],
    [
      'a form parameter without displayName',
      { pageInfo: { formInfo: { parameterInfo: [{ state: 'FILLED' }] } } },
      ['pageInfo.formInfo.parameterInfo.0.displayName'],
    ],
    [
      'an unknown form parameter state',
      { pageInfo: { formInfo: { parameterInfo: [{ displayName: 'a', state: 'DONE' }] } } },
      ['pageInfo.formInfo.parameterInfo.0.state'],
    ],
    [
      'required as a string',
      { pageInfo: { formInfo: { parameterInfo: [{ displayName: 'a', required: 'yes' }] } } },
      ['pageInfo.formInfo.parameterInfo.0.required'],
    ],
    ['text number', { text: 1 }, ['text']],
    ['transcript number', { transcript: 1 }, ['transcript']],
    ['dtmfDigits number', { dtmfDigits: 1 }, ['dtmfDigits']],
  ])('rejects %s', (_label, extra, expected) => {
    expect(fields({ ...seed(), ...extra })).toEqual(expected);
  });

  it.each<[string, Record<string, unknown>]>([
    ['intentInfo.confidence > 1', { intentInfo: { displayName: 'a', confidence: 1.2 } }],
    ['intentInfo.confidence string', { intentInfo: { displayName: 'a', confidence: 'high' } }],
    ['intentInfo.lastMatchedIntent number', { intentInfo: { displayName: 'a', lastMatchedIntent: 1 } }],
    [
      'justCollected as a string',
      { pageInfo: { formInfo: { parameterInfo: [{ displayName: 'a', justCollected: 'no' }] } } },
    ],
    ['pageInfo.displayName number', { pageInfo: { displayName: 3 } }],
    ['triggerIntent number', { triggerIntent: 1 }],
    ['triggerEvent number', { triggerEvent: 1 }],
    ['messages object', { messages: {} }],
    ['messages of strings', { messages: ['hi'] }],
    ['payload string', { payload: 'x' }],
    ['sentiment score < -1', { sentimentAnalysisResult: { score: -2 } }],
    ['sentimentAnalysisResult string', { sentimentAnalysisResult: 'x' }],
    ['languageInfo array', { languageInfo: ['de'] }],
  ])('tolerates %s: the service does not read it', (_label, extra) => {
    expect(fields({ ...seed(), ...extra })).toEqual([]);
  });

  it('names the intent parameters that are malformed', () => {
    try {
      validateBody(DialogflowCxWebhookRequest, { ...seed(), intentInfo: { parameters: { ok: {}, bad: 3 } } }, 'CX');
      throw new Error('expected a validation error');
    } catch (error) {
      expect((error as AppError).details).toEqual([
        { field: 'intentInfo.parameters', problem: 'must map each name to {originalValue, resolvedValue} (bad: bad)' },
      ]);
    }
  });

  it('reports a missing required field as required', () => {
    try {
      validateBody(DialogflowCxWebhookRequest, { sessionInfo: { session: `${AGENT}/sessions/s` } }, 'CX');
      throw new Error('expected a validation error');
    } catch (error) {
      expect((error as AppError).details).toEqual([{ field: 'detectIntentResponseId', problem: 'is required' }]);
    }
  });

  describe('routeOf', () => {
    const route = (extra: Record<string, unknown>) =>
      routeOf(plainToInstance(DialogflowCxWebhookRequest, { ...seed(), ...extra }));

    it('routes by the fulfillment tag first', () => {
      expect(route({ intentInfo: { displayName: 'account.balance' } })).toBe('GetAccountBalance');
    });

    it.each([
      ['absent', undefined],
      ['empty', { tag: '' }],
      ['blank', { tag: '  ' }],
      ['without tag', {}],
    ])('falls back to the intent display name when the tag is %s', (_label, fulfillmentInfo) => {
      expect(route({ fulfillmentInfo, intentInfo: { displayName: 'GetRecentTransactions' } })).toBe(
        'GetRecentTransactions',
      );
    });

    it('finds no route without a tag or an intent', () => {
      expect(route({ fulfillmentInfo: { tag: '' } })).toBeUndefined();
      expect(route({ fulfillmentInfo: undefined, intentInfo: { displayName: '' } })).toBeUndefined();
    });
  });
});
