import 'reflect-metadata';

import { plainToInstance } from 'class-transformer';
import type { AppConfig } from '../../config';
import {
  type DispatchOutcome,
  type FulfillmentResult,
  idempotencyKeyOf,
  PENDING_FULFILLMENT_PARAMETER,
} from '../../fulfillment';
import {
  checkResponse,
  DialogflowEsAdapter,
  renderResponse,
  SESSION_VALUES_KEY,
  sessionValuesOf,
  toDispatchInput,
} from './dialogflow-es.adapter';
import { DialogflowEsWebhookRequest } from './dialogflow-es.request';
import { DIALOGFLOW_ES_MAX_RESPONSE_BYTES, DialogflowEsWebhookResponse } from './dialogflow-es.response';
import type { Caller } from '../../common/caller';

const SESSION = 'projects/project-id/agent/sessions/session-id';
const CALLER: Caller = { id: 'dialogflow-prod', platforms: ['dialogflow-es'] };

function plainRequest(queryResult: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    responseId: 'response-1',
    session: SESSION,
    queryResult: {
      queryText: 'What is my balance?',
      intent: { name: 'projects/project-id/agent/intents/1', displayName: 'GetAccountBalance' },
      parameters: { account_type: 'checking' },
      allRequiredParamsPresent: true,
      languageCode: 'de-DE',
      ...queryResult,
    },
    ...extra,
  };
}

function request(queryResult: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return plainToInstance(DialogflowEsWebhookRequest, plainRequest(queryResult, extra));
}

describe('toDispatchInput', () => {
  it('maps the request to the platform-neutral model', () => {
    const body = request();
    expect(toDispatchInput(body, CALLER)).toEqual({
      platform: 'dialogflow-es',
      requestId: 'response-1',
      turnKey: 'response-1\nGetAccountBalance',
      sessionId: SESSION,
      intent: 'GetAccountBalance',
      parameters: { account_type: 'checking' },
      contexts: [],
      sessionParameters: {},
      stage: 'fulfillment',
      confirmation: 'none',
      queryText: 'What is my balance?',
      languageCode: 'de-DE',
      caller: CALLER,
      raw: body,
    });
  });

  it('is the fulfillment stage only with allRequiredParamsPresent: true (Google leaves a false one out of its JSON)', () => {
    expect(toDispatchInput(request({ allRequiredParamsPresent: true }), CALLER).stage).toBe('fulfillment');
    for (const value of [false, undefined, 'true', 1, null]) {
      expect(toDispatchInput(request({ allRequiredParamsPresent: value }), CALLER).stage).toBe('dialog');
    }
  });

  it('keys the turn by responseId and intent: a follow-up intent in the same detectIntent is a turn of its own', () => {
    const key = (displayName: string, responseId = 'response-1') =>
      idempotencyKeyOf(toDispatchInput(request({ intent: { displayName } }, { responseId }), CALLER));
    // TransferFunds answers with a follow-up event; ES calls again for the intent it triggers, same responseId.
    expect(key('BookAppointment')).not.toBe(key('TransferFunds'));
    // A retry of a call repeats both.
    expect(key('TransferFunds')).toBe(key('TransferFunds'));
    expect(key('TransferFunds', 'response-2')).not.toBe(key('TransferFunds'));
  });

  it("reads the session's values under their key, untouched by the intent's parameters ES merges into the context", () => {
    // CheckInventory stored sku X200; GetShippingEstimate matched with sku and product unfilled, and ES merged them.
    const body = request({
      intent: { displayName: 'GetShippingEstimate' },
      parameters: { sku: '', product: '', postcode: '10115' },
      outputContexts: [
        {
          name: `${SESSION}/contexts/session-parameters`,
          lifespanCount: 49,
          parameters: {
            [SESSION_VALUES_KEY]: { sku: 'X200' },
            sku: '',
            'sku.original': '',
            product: '',
            'product.original': '',
            postcode: '10115',
            'postcode.original': '10115',
          },
        },
      ],
    });
    const input = toDispatchInput(body, CALLER);
    expect(input.sessionParameters).toEqual({ sku: 'X200' });
    expect(input.parameters).toEqual({ postcode: '10115' });
  });

  it('reads a context written flat (before the values were nested) without the keys ES merged that it can tell', () => {
    expect(
      sessionValuesOf(
        {
          confirming: 'digest',
          visits: 2,
          sku: '',
          'sku.original': '',
          tags: [],
          postcode: '10115',
          'postcode.original': '10115',
        },
        new Set(['sku', 'postcode']),
      ),
    ).toEqual({ confirming: 'digest', visits: 2, postcode: '10115' });
    // The nested values win over a parameter ES merged this turn; a key ES overwrote with a parameter of the same name
    // holds no values.
    const visits = new Set(['visits']);
    expect(sessionValuesOf({ [SESSION_VALUES_KEY]: { visits: 3 }, visits: 2 }, visits)).toEqual({ visits: 3 });
    expect(sessionValuesOf({ [SESSION_VALUES_KEY]: '', visits: 2 }, visits)).toEqual({});
  });

  it('reads what a replica of the previous release wrote flat beside the nested values, as it is newer', () => {
    // Mid-rollout: BookAppointment on an old replica read the context flat and wrote it back so, the nested object
    // untouched and its new appointment at the top level.
    const body = request({
      intent: { displayName: 'CancelAppointment' },
      parameters: { reason: '' },
      outputContexts: [
        {
          name: `${SESSION}/contexts/session-parameters`,
          lifespanCount: 49,
          parameters: {
            [SESSION_VALUES_KEY]: { last_appointment: 'APT-OLD', visits: 2 },
            last_appointment: 'APT-NEW',
            'date.original': 'tomorrow',
            tags: [],
            reason: '',
            'reason.original': '',
          },
        },
      ],
    });
    expect(toDispatchInput(body, CALLER).sessionParameters).toEqual({ last_appointment: 'APT-NEW', visits: 2 });
  });

  it("keeps the nested value over the current intent's filled parameter of that name, which ES merged", () => {
    const body = request({
      intent: { displayName: 'CheckInventory' },
      parameters: { sku: 'X300' },
      outputContexts: [
        {
          name: `${SESSION}/contexts/session-parameters`,
          lifespanCount: 49,
          parameters: { [SESSION_VALUES_KEY]: { sku: 'X200' }, sku: 'X300', 'sku.original': 'X300' },
        },
      ],
    });
    const input = toDispatchInput(body, CALLER);
    expect(input.sessionParameters).toEqual({ sku: 'X200' });
    expect(input.parameters).toEqual({ sku: 'X300' });
  });

  it('keeps the original body as raw', () => {
    const body = request();
    expect(toDispatchInput(body, CALLER).raw).toBe(body);
  });

  it.each([
    ['projects/p1/agent/sessions/s1', 'await_amount'],
    ['projects/p1/agent/environments/draft/users/-/sessions/s1', 'await_amount'],
    ['projects/p1/locations/europe-west1/agent/sessions/s1', 'await_amount'],
    ['projects/p1/locations/global/agent/environments/prod/users/u-42/sessions/abc.DEF_1', '__system_counters__'],
  ])('extracts the short context name from a %s session', (session, context) => {
    const body = request(
      {
        outputContexts: [
          { name: `${session}/contexts/${context}`, lifespanCount: 2, parameters: { amount: 5 } },
          { name: `${session}/contexts/second` },
        ],
      },
      { session },
    );
    expect(toDispatchInput(body, CALLER).contexts).toEqual([
      { name: context, lifespan: 2, parameters: { amount: 5 } },
      { name: 'second', lifespan: undefined, parameters: {} },
    ]);
  });

  it('keeps a context name it cannot parse as it is', () => {
    const body = request({ outputContexts: [{ name: 'not-a-context-name' }] });
    expect(toDispatchInput(body, CALLER).contexts).toEqual([
      { name: 'not-a-context-name', lifespan: undefined, parameters: {} },
    ]);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
  ])('defaults languageCode to "en" when %s', (_label, languageCode) => {
    expect(toDispatchInput(request({ languageCode }), CALLER).languageCode).toBe('en');
  });

  it('defaults parameters to {} and allows a missing queryText', () => {
    const input = toDispatchInput(request({ parameters: undefined, queryText: undefined }), CALLER);
    expect(input.parameters).toEqual({});
    expect(input.queryText).toBeUndefined();
  });
});

describe('renderResponse', () => {
  it('renders a single text message when messages are absent', () => {
    expect(renderResponse({ text: 'Your balance is $5.' }, SESSION, 'webhook')).toEqual({
      fulfillmentText: 'Your balance is $5.',
      fulfillmentMessages: [{ text: { text: ['Your balance is $5.'] } }],
      source: 'webhook',
    });
  });

  it('uses the result source over the default', () => {
    expect(renderResponse({ text: 'x', source: 'core-banking' }, SESSION, 'webhook').source).toBe('core-banking');
  });

  it('maps every rich message type', () => {
    const result: FulfillmentResult = {
      text: 'main',
      messages: [
        { type: 'text', text: 'hello' },
        { type: 'quick-replies', title: 'Pick one', replies: ['a', 'b'] },
        { type: 'quick-replies', replies: ['c'] },
        {
          type: 'card',
          title: 'Card',
          subtitle: 'Sub',
          imageUrl: 'https://example.com/card.png',
          buttons: [{ text: 'Go', postback: 'https://example.com/go' }, { text: 'Plain' }],
        },
        { type: 'card', title: 'Bare card' },
        { type: 'image', imageUrl: 'https://example.com/i.png', accessibilityText: 'An image' },
        { type: 'image', imageUrl: 'https://example.com/j.png' },
        { type: 'payload', payload: { slack: { blocks: [1, 2] } } },
      ],
    };
    const response = renderResponse(result, SESSION, 'webhook');
    expect(response.fulfillmentText).toBe('main');
    expect(response.fulfillmentMessages).toEqual([
      { text: { text: ['hello'] } },
      { quickReplies: { title: 'Pick one', quickReplies: ['a', 'b'] } },
      { quickReplies: { quickReplies: ['c'] } },
      {
        card: {
          title: 'Card',
          subtitle: 'Sub',
          imageUri: 'https://example.com/card.png',
          buttons: [{ text: 'Go', postback: 'https://example.com/go' }, { text: 'Plain' }],
        },
      },
      { card: { title: 'Bare card' } },
      { image: { imageUri: 'https://example.com/i.png', accessibilityText: 'An image' } },
      { image: { imageUri: 'https://example.com/j.png' } },
      { payload: { slack: { blocks: [1, 2] } } },
    ]);
    // Optional fields are left out, not rendered as undefined.
    const json = JSON.parse(JSON.stringify(response));
    expect(json.fulfillmentMessages[2].quickReplies).not.toHaveProperty('title');
    expect(Object.keys(response.fulfillmentMessages?.[4]?.card ?? {})).toEqual(['title']);
    expect(Object.keys(response.fulfillmentMessages?.[6]?.image ?? {})).toEqual(['imageUri']);
  });

  it('renders an empty messages list as no messages', () => {
    expect(renderResponse({ text: 'x', messages: [] }, SESSION, 'webhook').fulfillmentMessages).toEqual([]);
  });

  it('copies arrays and payloads instead of sharing them with the result', () => {
    const replies = ['a'];
    const payload = { k: 'v' };
    const response = renderResponse(
      { text: 'x', messages: [{ type: 'quick-replies', replies }], payload },
      SESSION,
      'webhook',
    );
    expect(response.fulfillmentMessages?.[0]?.quickReplies?.quickReplies).not.toBe(replies);
    expect(response.payload).not.toBe(payload);
    expect(response.payload).toEqual(payload);
  });

  it('qualifies output contexts with the session', () => {
    const response = renderResponse(
      {
        text: 'x',
        contexts: [
          { name: 'await_amount', lifespan: 3, parameters: { currency: 'EUR' } },
          { name: 'done', lifespan: 0 },
        ],
      },
      SESSION,
      'webhook',
    );
    expect(response.outputContexts).toEqual([
      { name: `${SESSION}/contexts/await_amount`, lifespanCount: 3, parameters: { currency: 'EUR' } },
      { name: `${SESSION}/contexts/done`, lifespanCount: 0 },
    ]);
    expect(response.outputContexts?.[1]).not.toHaveProperty('parameters');
  });

  it('leaves outputContexts out when there are none', () => {
    expect(renderResponse({ text: 'x' }, SESSION, 'webhook')).not.toHaveProperty('outputContexts');
    expect(renderResponse({ text: 'x', contexts: [] }, SESSION, 'webhook')).not.toHaveProperty('outputContexts');
  });

  it('renders a followup event', () => {
    expect(
      renderResponse(
        { text: 'x', followupEvent: { name: 'NEXT_STEP', parameters: { step: 2 }, languageCode: 'en' } },
        SESSION,
        'webhook',
      ).followupEventInput,
    ).toEqual({ name: 'NEXT_STEP', languageCode: 'en', parameters: { step: 2 } });
    expect(
      renderResponse({ text: 'x', followupEvent: { name: 'NEXT_STEP' } }, SESSION, 'webhook').followupEventInput,
    ).toStrictEqual({ name: 'NEXT_STEP', languageCode: 'en' });
  });

  it('renders a payload', () => {
    const response = renderResponse({ text: 'x', payload: { google: { expectUserResponse: true } } }, SESSION, 'src');
    expect(response.payload).toEqual({ google: { expectUserResponse: true } });
  });

  it('leaves followupEventInput and payload out when absent', () => {
    const response = renderResponse({ text: 'x' }, SESSION, 'webhook');
    expect(response).not.toHaveProperty('followupEventInput');
    expect(response).not.toHaveProperty('payload');
  });
});

describe('DialogflowEsAdapter.render', () => {
  const SESSION_PARAMETERS = `${SESSION}/contexts/session-parameters`;
  const config = { fulfillment: { pendingFollowupEvent: 'PENDING', responseSource: 'webhook' } };
  const adapter = new DialogflowEsAdapter(config as unknown as AppConfig);

  function answer(
    result: FulfillmentResult,
    queryResult: Record<string, unknown> = {},
    outcome: DispatchOutcome = 'fulfilled',
  ) {
    const turn = adapter.toTurn(request(queryResult), { caller: CALLER, requestId: 'r-1', arrivedAt: 0 });
    return adapter.render(result, outcome, turn);
  }

  function carrying(parameters?: Record<string, unknown>) {
    return { outputContexts: [{ name: SESSION_PARAMETERS, lifespanCount: 3, ...(parameters && { parameters }) }] };
  }
  const session = (values: Record<string, unknown>) => ({ [SESSION_VALUES_KEY]: values });

  it('gives a follow-up event the language of the request when the handler names none', () => {
    const followed = answer({ text: 'x', followupEvent: { name: 'NEXT_STEP' } });
    expect(followed.followupEventInput).toEqual({ name: 'NEXT_STEP', languageCode: 'de-DE' });
    const own = answer({ text: 'x', followupEvent: { name: 'NEXT_STEP', languageCode: 'fr' } });
    expect(own.followupEventInput?.languageCode).toBe('fr');
    const interim = { text: 'wait', sessionParameters: { [PENDING_FULFILLMENT_PARAMETER]: 'p-1' } };
    expect(answer(interim, {}, 'timed-out').followupEventInput).toEqual({
      name: 'PENDING',
      languageCode: 'de-DE',
      parameters: { [PENDING_FULFILLMENT_PARAMETER]: 'p-1' },
    });
  });

  it('sends the session-parameters context the request carried again with a fresh lifespan, or it would lapse', () => {
    expect(answer({ text: 'x' }, carrying(session({ visits: 2, tier: 'gold' }))).outputContexts).toEqual([
      { name: SESSION_PARAMETERS, lifespanCount: 50, parameters: session({ visits: 2, tier: 'gold' }) },
    ]);
    expect(answer({ text: 'x' }, carrying()).outputContexts).toEqual([
      { name: SESSION_PARAMETERS, lifespanCount: 50, parameters: session({}) },
    ]);
    expect(answer({ text: 'x' })).not.toHaveProperty('outputContexts');
  });

  it("merges the handler's session parameters into the context the request carried, null removing one", () => {
    const written = answer(
      { text: 'x', sessionParameters: { visits: 3, tier: null } },
      carrying(session({ visits: 2, tier: 'gold' })),
    );
    expect(written.outputContexts).toEqual([
      { name: SESSION_PARAMETERS, lifespanCount: 50, parameters: session({ visits: 3 }) },
    ]);
    expect(answer({ text: 'x', sessionParameters: { visits: 1 } }).outputContexts).toEqual([
      { name: SESSION_PARAMETERS, lifespanCount: 50, parameters: session({ visits: 1 }) },
    ]);
  });

  it('writes back only the session values, not the parameters and *.original keys ES merged into the context', () => {
    const merged = { ...session({ sku: 'X200' }), sku: '', 'sku.original': '', postcode: '10115' };
    const renewed = answer(
      { text: 'x', sessionParameters: { visits: 1 } },
      { parameters: { sku: '', postcode: '10115' }, ...carrying(merged) },
    );
    expect(renewed.outputContexts).toEqual([
      { name: SESSION_PARAMETERS, lifespanCount: 50, parameters: session({ sku: 'X200', visits: 1 }) },
    ]);
    // So is what a replica of the previous release wrote flat beside the nested values.
    const mixed = { ...session({ sku: 'X200', visits: 1 }), visits: 2, 'sku.original': '' };
    expect(answer({ text: 'x' }, { parameters: {}, ...carrying(mixed) }).outputContexts).toEqual([
      { name: SESSION_PARAMETERS, lifespanCount: 50, parameters: session({ sku: 'X200', visits: 2 }) },
    ]);
    // A context written flat is written back nested, without what ES merged.
    const flat = { visits: 2, sku: '', 'sku.original': '' };
    expect(answer({ text: 'x' }, carrying(flat)).outputContexts).toEqual([
      { name: SESSION_PARAMETERS, lifespanCount: 50, parameters: session({ visits: 2 }) },
    ]);
  });

  it('leaves the renewal out when it would take the reply over 64 KiB, so the answer still goes out', () => {
    const values = carrying(session({ notes: 'n'.repeat(40 * 1024) }));
    const text = 't'.repeat(30 * 1024);
    const checked = adapter.check(answer({ text }, values));
    expect(checked.problems).toEqual([]);
    const sent = JSON.parse(checked.json) as DialogflowEsWebhookResponse;
    expect(sent).not.toHaveProperty('outputContexts');
    expect(sent.fulfillmentText).toBe(text);
    // A change of the handler's is never left out: the checks refuse the reply instead.
    const written = answer({ text, sessionParameters: { visits: 1 } }, values);
    expect(written.outputContexts?.[0]?.parameters).toMatchObject(session({ visits: 1 }));
    expect(adapter.check(written).problems).toHaveLength(1);
    // The error reply that replaces it renews the values when they fit alone.
    expect(answer({ text: 'Sorry.', failed: true }, values, 'failed').outputContexts).toHaveLength(1);
  });
});

describe('checkResponse', () => {
  function render(result: Partial<FulfillmentResult>): DialogflowEsWebhookResponse {
    return renderResponse({ text: 'ok', ...result }, SESSION, 'webhook');
  }

  it('finds no problems in a valid response and returns its JSON', () => {
    const response = render({
      messages: [
        { type: 'text', text: 'hello' },
        { type: 'card', title: 'Card', buttons: [{ text: 'Go' }] },
      ],
      contexts: [
        { name: 'await_amount', lifespan: 5, parameters: { a: 1 } },
        { name: 'gone-%20_x', lifespan: 0 },
      ],
      followupEvent: { name: 'NEXT_STEP-2' },
      payload: { k: 'v' },
    });
    const checked = checkResponse(response);
    expect(checked.problems).toEqual([]);
    expect(checked.json).toBe(JSON.stringify(response));
  });

  it('returns the JSON of a minimal response', () => {
    const response = render({});
    expect(checkResponse(response)).toEqual({ problems: [], json: JSON.stringify(response) });
  });

  it.each([
    ['a space', 'has space'],
    ['a dot', 'a.b'],
    ['250+ characters', 'c'.repeat(251)],
  ])('rejects a context name with %s', (_label, name) => {
    const { problems } = checkResponse(render({ contexts: [{ name, lifespan: 1 }] }));
    expect(problems).toEqual([`output context "${name}" has an invalid name`]);
  });

  it('rejects a context name with capital letters: ES lower-cases it, so the next turn brings another name back', () => {
    expect(checkResponse(render({ contexts: [{ name: 'AwaitingTransfer', lifespan: 1 }] })).problems).toEqual([
      'output context "AwaitingTransfer" has capital letters, which Dialogflow ES turns to lower case',
    ]);
    expect(checkResponse(render({ contexts: [{ name: 'awaiting_transfer-2', lifespan: 1 }] })).problems).toEqual([]);
  });

  it('rejects an empty context name', () => {
    expect(checkResponse(render({ contexts: [{ name: '', lifespan: 1 }] })).problems).toEqual([
      'output context "" has an invalid name',
    ]);
  });

  it('rejects a context name with a slash', () => {
    // `a/b` would render as `<session>/contexts/a/b`, which is not a context name Dialogflow accepts.
    const { problems } = checkResponse(render({ contexts: [{ name: 'a/b', lifespan: 1 }] }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^output context ".*" has an invalid name$/);
  });

  it.each([
    ['negative', -1],
    ['fractional', 1.5],
    ['NaN', Number.NaN],
    ['infinite', Number.POSITIVE_INFINITY],
  ])('rejects a %s lifespan', (_label, lifespan) => {
    const { problems } = checkResponse(render({ contexts: [{ name: 'ctx', lifespan }] }));
    expect(problems).toEqual(['output context "ctx" has an invalid lifespanCount']);
  });

  it.each([
    ['a space', 'NEXT STEP'],
    ['a dot', 'next.step'],
    ['nothing', ''],
    ['more than 150 characters', 'E'.repeat(151)],
  ])('rejects a followup event name with %s', (_label, name) => {
    expect(checkResponse(render({ followupEvent: { name } })).problems).toEqual(['followup event has an invalid name']);
  });

  it('accepts a 150-character event name and a 250-character context name', () => {
    const response = render({
      followupEvent: { name: 'E'.repeat(150) },
      contexts: [{ name: 'c'.repeat(250), lifespan: 1 }],
    });
    expect(checkResponse(response).problems).toEqual([]);
  });

  it('reports every problem at once', () => {
    const response = render({
      contexts: [
        { name: 'bad name', lifespan: -1 },
        { name: 'fine', lifespan: 2 },
      ],
      followupEvent: { name: 'bad event' },
    });
    expect(checkResponse(response).problems).toEqual([
      'output context "bad name" has an invalid name',
      'output context "bad name" has an invalid lifespanCount',
      'followup event has an invalid name',
    ]);
  });

  describe('size limit', () => {
    it('is 64 KiB', () => {
      expect(DIALOGFLOW_ES_MAX_RESPONSE_BYTES).toBe(65536);
    });

    it('counts bytes, not characters', () => {
      const text = '€'.repeat(22_000);
      expect(text).toHaveLength(22_000);
      expect(Buffer.byteLength(text, 'utf8')).toBe(66_000);
      // fulfillmentText alone is already over the limit in bytes, though far under it in characters.
      const response: DialogflowEsWebhookResponse = { fulfillmentText: text };
      const { problems, json } = checkResponse(response);
      expect(json.length).toBeLessThan(DIALOGFLOW_ES_MAX_RESPONSE_BYTES);
      expect(problems).toEqual([`response is ${Buffer.byteLength(json)} bytes, over Dialogflow's 65536-byte limit`]);
    });

    it('accepts a response of exactly 64 KiB and rejects one byte more', () => {
      const overhead = JSON.stringify({ fulfillmentText: '' }).length;
      const exact: DialogflowEsWebhookResponse = { fulfillmentText: 'x'.repeat(65536 - overhead) };
      expect(checkResponse(exact).json).toHaveLength(65536);
      expect(checkResponse(exact).problems).toEqual([]);
      const over: DialogflowEsWebhookResponse = { fulfillmentText: 'x'.repeat(65537 - overhead) };
      expect(checkResponse(over).problems).toEqual(["response is 65537 bytes, over Dialogflow's 65536-byte limit"]);
    });

    it('still returns the JSON of an oversized response', () => {
      const response = render({ text: 'y'.repeat(70 * 1024) });
      const checked = checkResponse(response);
      expect(checked.problems).toHaveLength(1);
      expect(checked.json).toBe(JSON.stringify(response));
    });
  });

  it('reports a response that cannot be serialised', () => {
    const payload: Record<string, unknown> = {};
    payload.self = payload;
    const { problems, json } = checkResponse({ fulfillmentText: 'x', payload });
    expect(problems).toEqual(['response is not serialisable to JSON']);
    expect(json).toBe('');
  });
});
