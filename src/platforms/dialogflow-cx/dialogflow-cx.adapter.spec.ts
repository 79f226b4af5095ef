import 'reflect-metadata';

import { plainToInstance } from 'class-transformer';
import type { FulfillmentResult } from '../../fulfillment';
import balanceFixture from '../../../test/fixtures/dialogflow-cx/get-account-balance.json';
import invalidFixture from '../../../test/fixtures/dialogflow-cx/form-parameter-invalid.json';
import {
  checkResponse,
  DialogflowCxTurn,
  parametersOf,
  renderResponse,
  stageOf,
  toDispatchInput,
  turnOf,
} from './dialogflow-cx.adapter';
import { DialogflowCxPageInfo, DialogflowCxWebhookRequest } from './dialogflow-cx.request';
import { DIALOGFLOW_CX_MAX_RESPONSE_BYTES, DialogflowCxWebhookResponse } from './dialogflow-cx.response';
import type { Caller } from '../../common/caller';

const AGENT = 'projects/p/locations/global/agents/a';
const SESSION = `${AGENT}/sessions/s`;
const FLOW = `${AGENT}/flows/f`;
const TURN: DialogflowCxTurn = { session: SESSION, currentPage: `${FLOW}/pages/current` };
const CALLER: Caller = { id: 'dialogflow-prod', platforms: ['dialogflow-cx'] };

function request(plain: Record<string, unknown>): DialogflowCxWebhookRequest {
  return plainToInstance(DialogflowCxWebhookRequest, {
    detectIntentResponseId: 'r-1',
    sessionInfo: { session: SESSION },
    ...plain,
  });
}

const render = (result: Partial<FulfillmentResult>, turn: DialogflowCxTurn = TURN) =>
  renderResponse({ text: 'ok', ...result }, turn);

describe('toDispatchInput', () => {
  it('maps the GetAccountBalance fixture to the platform-neutral model', () => {
    const body = plainToInstance(DialogflowCxWebhookRequest, balanceFixture);
    expect(toDispatchInput(body, CALLER)).toEqual({
      platform: 'dialogflow-cx',
      requestId: '5c7e1b2a-0f0e-4d3c-9a61-6f0b9c1d2e3f',
      turnKey: '5c7e1b2a-0f0e-4d3c-9a61-6f0b9c1d2e3f\nGetAccountBalance\nfulfillment',
      sessionId: balanceFixture.sessionInfo.session,
      intent: 'GetAccountBalance',
      parameters: { account_type: 'checking', user_id: '12345' },
      contexts: [],
      sessionParameters: { user_id: '12345', account_type: 'checking' },
      stage: 'fulfillment',
      confirmation: 'none',
      queryText: 'What is my checking account balance?',
      languageCode: 'en',
      caller: CALLER,
      raw: body,
    });
  });

  it('maps the INVALID form fixture to the dialog stage', () => {
    const input = toDispatchInput(plainToInstance(DialogflowCxWebhookRequest, invalidFixture), CALLER);
    expect(input.stage).toBe('dialog');
    expect(input.parameters).toEqual({ user_id: '12345', account_type: 'brokerage' });
  });

  it('routes by the intent display name when there is no tag', () => {
    const body = request({ fulfillmentInfo: { tag: '' }, intentInfo: { displayName: 'GetRecentTransactions' } });
    expect(toDispatchInput(body, CALLER).intent).toBe('GetRecentTransactions');
  });

  it('defaults languageCode to "en", the parameters to {}, and takes the transcript as query text', () => {
    const input = toDispatchInput(request({ fulfillmentInfo: { tag: 'X' }, transcript: 'spoken' }), CALLER);
    expect(input.languageCode).toBe('en');
    expect(input.parameters).toEqual({});
    expect(input.sessionParameters).toEqual({});
    expect(input.queryText).toBe('spoken');
    expect(toDispatchInput(request({ languageCode: '' }), CALLER).languageCode).toBe('en');
    expect(toDispatchInput(request({ languageCode: 'de-DE' }), CALLER).languageCode).toBe('de-DE');
  });

  it('answers in the language the agent detected (languageInfo.resolvedLanguageCode), when it is a language tag', () => {
    const detected = (languageInfo: unknown) =>
      toDispatchInput(request({ languageCode: 'en', languageInfo }), CALLER).languageCode;
    expect(detected({ inputLanguageCode: 'en', resolvedLanguageCode: 'de', confidenceScore: 0.9 })).toBe('de');
    for (const odd of [{ resolvedLanguageCode: 'not a tag!' }, { resolvedLanguageCode: 7 }, ['de'], 'de', null, {}]) {
      expect(detected(odd)).toBe('en');
    }
  });
});

describe('the turn key (one CX turn can call several webhooks)', () => {
  const keyOf = (fixture: object) =>
    toDispatchInput(plainToInstance(DialogflowCxWebhookRequest, fixture), CALLER).turnKey;

  it('tells apart the webhook tag and the stage of one response, and repeats for every delivery of it', () => {
    const base = keyOf(balanceFixture);
    expect(keyOf(structuredClone(balanceFixture))).toBe(base);
    expect(keyOf({ ...balanceFixture, fulfillmentInfo: { tag: 'BookAppointment' } })).not.toBe(base);
    expect(keyOf(invalidFixture)).toMatch(/\ndialog$/);
  });
});

describe('parametersOf', () => {
  it('takes resolved values, not original ones, and skips parameters without one', () => {
    const body = request({
      intentInfo: {
        parameters: {
          amount: { originalValue: 'ten euros', resolvedValue: { amount: 10, currency: 'EUR' } },
          count: { originalValue: 'three', resolvedValue: 3 },
          unresolved: { originalValue: 'x' },
        },
      },
    });
    expect(parametersOf(body)).toEqual({ amount: { amount: 10, currency: 'EUR' }, count: 3 });
  });

  it('lets the form values override the intent values, and skips form parameters without a value', () => {
    const body = request({
      intentInfo: { parameters: { a: { resolvedValue: 'intent' }, b: { resolvedValue: 'intent' } } },
      pageInfo: {
        formInfo: {
          parameterInfo: [
            { displayName: 'a', state: 'FILLED', value: 'form' },
            { displayName: 'b', state: 'EMPTY' },
            { displayName: 'c', state: 'FILLED', value: false },
          ],
        },
      },
    });
    expect(parametersOf(body)).toEqual({ a: 'form', b: 'intent', c: false });
  });
});

describe('stageOf', () => {
  const page = (...parameterInfo: Record<string, unknown>[]) =>
    plainToInstance(DialogflowCxPageInfo, { formInfo: { parameterInfo } });

  it.each<[string, DialogflowCxPageInfo | undefined, string]>([
    ['no page', undefined, 'fulfillment'],
    ['a page without a form', plainToInstance(DialogflowCxPageInfo, { displayName: 'p' }), 'fulfillment'],
    ['an empty form', page(), 'fulfillment'],
    ['every required parameter FILLED', page({ displayName: 'a', required: true, state: 'FILLED' }), 'fulfillment'],
    [
      'an optional parameter EMPTY',
      page({ displayName: 'a', required: true, state: 'FILLED' }, { displayName: 'b', state: 'EMPTY' }),
      'fulfillment',
    ],
    [
      'the last required parameter just collected (form complete)',
      page(
        { displayName: 'a', required: true, state: 'FILLED' },
        { displayName: 'b', required: true, state: 'FILLED', justCollected: true },
      ),
      'fulfillment',
    ],
    ['a required parameter EMPTY', page({ displayName: 'a', required: true, state: 'EMPTY' }), 'dialog'],
    ['a required parameter with no state', page({ displayName: 'a', required: true }), 'dialog'],
    ['an optional parameter INVALID', page({ displayName: 'a', state: 'INVALID', value: 'x' }), 'dialog'],
    [
      'a parameter just collected while another required one is EMPTY',
      page(
        { displayName: 'a', required: true, state: 'FILLED', justCollected: true },
        { displayName: 'b', required: true, state: 'EMPTY' },
      ),
      'dialog',
    ],
  ])('is %s → %s', (_label, pageInfo, stage) => {
    expect(stageOf(pageInfo)).toBe(stage);
  });
});

describe('renderResponse', () => {
  it('renders the text as one message, appended to the fulfillment’s own', () => {
    expect(render({ text: 'Your balance is $5.' })).toEqual({
      fulfillmentResponse: { messages: [{ text: { text: ['Your balance is $5.'] } }], mergeBehavior: 'APPEND' },
    });
  });

  it('renders every rich message type; rich ones as Dialogflow Messenger richContent', () => {
    const response = render({
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
          buttons: [
            { text: 'Open', postback: 'https://example.com/go' },
            { text: 'Say hi', postback: 'hi' },
            { text: 'Plain' },
          ],
        },
        { type: 'card', title: 'Bare card' },
        { type: 'image', imageUrl: 'https://example.com/i.png', accessibilityText: 'An image' },
        { type: 'image', imageUrl: 'https://example.com/j.png' },
        { type: 'payload', payload: { slack: { blocks: [1, 2] } } },
        { type: 'text', text: '' },
      ],
    });
    expect(response.fulfillmentResponse?.messages).toEqual([
      { text: { text: ['hello'] } },
      { text: { text: ['Pick one'] } },
      { payload: { richContent: [[{ type: 'chips', options: [{ text: 'a' }, { text: 'b' }] }]] } },
      { payload: { richContent: [[{ type: 'chips', options: [{ text: 'c' }] }]] } },
      {
        payload: {
          richContent: [
            [
              { type: 'info', title: 'Card', subtitle: 'Sub', image: { rawUrl: 'https://example.com/card.png' } },
              {
                type: 'chips',
                options: [
                  { text: 'Open', anchor: { href: 'https://example.com/go' } },
                  { text: 'Say hi' },
                  { text: 'Plain' },
                ],
              },
            ],
          ],
        },
      },
      { payload: { richContent: [[{ type: 'info', title: 'Bare card' }]] } },
      {
        payload: {
          richContent: [[{ type: 'image', rawUrl: 'https://example.com/i.png', accessibilityText: 'An image' }]],
        },
      },
      { payload: { richContent: [[{ type: 'image', rawUrl: 'https://example.com/j.png' }]] } },
      { payload: { slack: { blocks: [1, 2] } } },
    ]);
    // Optional fields are left out, not rendered as undefined.
    const json = JSON.stringify(response);
    expect(json).not.toContain('undefined');
    expect(JSON.parse(json)).toEqual(response);
  });

  it('asks for confirmation with the text and Yes/No chips, unless the handler gave quick replies', () => {
    expect(render({ text: 'Book it?', confirm: true }).fulfillmentResponse?.messages).toEqual([
      { text: { text: ['Book it?'] } },
      { payload: { richContent: [[{ type: 'chips', options: [{ text: 'Yes' }, { text: 'No' }] }]] } },
    ]);
    const own = render({
      text: 'Book it?',
      confirm: true,
      messages: [{ type: 'quick-replies', replies: ['Sure', 'Nope'] }],
    });
    expect(own.fulfillmentResponse?.messages).toHaveLength(1);
  });

  it('hands off to a live agent, with the reason as metadata', () => {
    expect(render({ text: 'Connecting you.', handoff: { reason: 'asked' } }).fulfillmentResponse?.messages).toEqual([
      { text: { text: ['Connecting you.'] } },
      { liveAgentHandoff: { metadata: { reason: 'asked' } } },
    ]);
    expect(render({ text: 'x', handoff: {} }).fulfillmentResponse?.messages?.[1]).toEqual({
      liveAgentHandoff: { metadata: {} },
    });
  });

  it("ends the conversation on the flow's END_SESSION page, marked a success", () => {
    const ended = render({ text: 'Goodbye.', endConversation: true });
    expect(ended.fulfillmentResponse?.messages).toEqual([
      { text: { text: ['Goodbye.'] } },
      { conversationSuccess: {} },
    ]);
    expect(ended.targetPage).toBe(`${FLOW}/pages/END_SESSION`);
    // A transition the handler asked for wins.
    expect(render({ endConversation: true, transition: { page: 'Survey' } }).targetPage).toBe(`${FLOW}/pages/Survey`);
  });

  it('sends session parameter changes only, keeping null so CX removes the parameter', () => {
    expect(render({ sessionParameters: { visits: 2, obsolete: null } }).sessionInfo).toEqual({
      parameters: { visits: 2, obsolete: null },
    });
    expect(render({})).not.toHaveProperty('sessionInfo');
  });

  it.each([true, false, undefined])(
    'elicits a parameter (invalid: %s) as INVALID with its value cleared, the text as the re-prompt',
    (invalid) => {
      // INVALID is the only state CX takes from a webhook, and a value left in the session would stand.
      const response = render({ text: 'Which date?', elicit: { parameter: 'date', invalid } });
      expect(response.pageInfo).toEqual({
        formInfo: { parameterInfo: [{ displayName: 'date', required: true, state: 'INVALID' }] },
      });
      expect(response.sessionInfo).toEqual({ parameters: { date: null } });
      expect(response.fulfillmentResponse?.messages).toEqual([{ text: { text: ['Which date?'] } }]);
    },
  );

  it("keeps the handler's own session parameters beside the cleared one, and its value for it if it sets one", () => {
    expect(
      render({ text: 'Which date?', elicit: { parameter: 'date' }, sessionParameters: { tries: 2 } }).sessionInfo,
    ).toEqual({ parameters: { tries: 2, date: null } });
    expect(
      render({ text: 'Which date?', elicit: { parameter: 'date' }, sessionParameters: { date: 'tomorrow' } })
        .sessionInfo,
    ).toEqual({ parameters: { date: 'tomorrow' } });
  });

  it('renders a payload, copied', () => {
    const payload = { telephony: { x: 1 } };
    const response = render({ payload });
    expect(response.payload).toEqual(payload);
    expect(response.payload).not.toBe(payload);
  });

  it('answers a delegated turn with an empty fulfillment response, still saving session parameters', () => {
    expect(render({ text: '', delegate: true, sessionParameters: { visits: 1 } })).toEqual({
      fulfillmentResponse: {},
      sessionInfo: { parameters: { visits: 1 } },
    });
  });

  it('ignores contexts and followup events, which CX does not have', () => {
    expect(render({ contexts: [{ name: 'c', lifespan: 1 }], followupEvent: { name: 'E' } })).toEqual(render({}));
  });

  describe('transitions', () => {
    it('qualifies a page id with the current page’s flow', () => {
      expect(render({ transition: { page: 'END_SESSION' } }).targetPage).toBe(`${FLOW}/pages/END_SESSION`);
    });

    it('qualifies a flow id with the session’s agent, environment left out', () => {
      const turn = { session: `${AGENT}/environments/prod/sessions/s` };
      expect(render({ transition: { flow: 'billing' } }, turn).targetFlow).toBe(`${AGENT}/flows/billing`);
    });

    it('passes full resource names through', () => {
      const page = `${AGENT}/flows/other/pages/p2`;
      expect(render({ transition: { page } }).targetPage).toBe(page);
      expect(render({ transition: { flow: `${AGENT}/flows/other` } }).targetFlow).toBe(`${AGENT}/flows/other`);
    });

    it('leaves a page id it cannot qualify as it is (checkResponse refuses it)', () => {
      const response = render({ transition: { page: 'p2' } }, { session: SESSION });
      expect(response.targetPage).toBe('p2');
      expect(checkResponse(response).problems).toEqual(['targetPage "p2" is not a page name']);
    });

    it('renders both when both are given, so that checkResponse refuses the response', () => {
      const response = render({ transition: { page: 'p2', flow: 'f2' } });
      expect(response).toMatchObject({ targetPage: `${FLOW}/pages/p2`, targetFlow: `${AGENT}/flows/f2` });
      expect(checkResponse(response).problems).toEqual([
        'targetPage and targetFlow are both set; CX accepts at most one',
      ]);
    });

    it('leaves both out without a transition', () => {
      const response = render({ transition: {} });
      expect(response).not.toHaveProperty('targetPage');
      expect(response).not.toHaveProperty('targetFlow');
    });
  });

  it('uses the request’s session and current page as the turn', () => {
    const body = request({ pageInfo: { currentPage: `${FLOW}/pages/x` } });
    expect(turnOf(body)).toEqual({ session: SESSION, currentPage: `${FLOW}/pages/x` });
  });
});

describe('checkResponse', () => {
  it('finds no problems in a full valid response and returns its JSON', () => {
    const response = render({
      messages: [{ type: 'card', title: 'Card', buttons: [{ text: 'Go' }] }],
      sessionParameters: { a: 1, b: null },
      elicit: { parameter: 'date', invalid: true },
      transition: { page: 'next' },
      payload: { k: 'v' },
      handoff: { reason: 'r' },
      endConversation: true,
    });
    const checked = checkResponse(response);
    expect(checked.problems).toEqual([]);
    expect(checked.json).toBe(JSON.stringify(response));
  });

  it.each<[string, DialogflowCxWebhookResponse, string]>([
    [
      'a flow name that is not one',
      { targetFlow: 'projects/p/flows/f' },
      'targetFlow "projects/p/flows/f" is not a flow name',
    ],
    [
      'an elicited parameter without a name',
      { pageInfo: { formInfo: { parameterInfo: [{ displayName: ' ', state: 'EMPTY' }] } } },
      'form parameter has an empty displayName',
    ],
    [
      'an unspecified parameter state',
      { pageInfo: { formInfo: { parameterInfo: [{ displayName: 'd', state: 'PARAMETER_STATE_UNSPECIFIED' }] } } },
      'form parameter "d" has an invalid state',
    ],
    [
      'a session parameter without a name',
      { sessionInfo: { parameters: { '': 1 } } },
      'session parameter has an empty name',
    ],
  ])('refuses %s', (_label, response, problem) => {
    expect(checkResponse(response).problems).toEqual([problem]);
  });

  it('refuses an elicit with an empty parameter name', () => {
    expect(checkResponse(render({ elicit: { parameter: '' } })).problems).toEqual([
      'form parameter has an empty displayName',
      'session parameter has an empty name',
    ]);
  });

  it('reports a response that cannot be serialised', () => {
    const payload: Record<string, unknown> = {};
    payload.self = payload;
    expect(checkResponse({ payload })).toEqual({ problems: ['response is not serialisable to JSON'], json: '' });
  });

  describe('size limit', () => {
    it('is 64 KiB', () => {
      expect(DIALOGFLOW_CX_MAX_RESPONSE_BYTES).toBe(65536);
    });

    it('counts bytes, not characters', () => {
      const response = render({ text: '€'.repeat(22_000) });
      const { problems, json } = checkResponse(response);
      expect(json.length).toBeLessThan(DIALOGFLOW_CX_MAX_RESPONSE_BYTES);
      expect(problems).toEqual([`response is ${Buffer.byteLength(json)} bytes, over Dialogflow CX's 65536-byte limit`]);
    });

    it('accepts a response of exactly 64 KiB and refuses one byte more', () => {
      const overhead = JSON.stringify(render({ text: '', messages: [{ type: 'text', text: 'x' }] })).length - 1;
      const sized = (length: number) => render({ messages: [{ type: 'text', text: 'x'.repeat(length) }] });
      expect(checkResponse(sized(65536 - overhead)).json).toHaveLength(65536);
      expect(checkResponse(sized(65536 - overhead)).problems).toEqual([]);
      expect(checkResponse(sized(65537 - overhead)).problems).toEqual([
        "response is 65537 bytes, over Dialogflow CX's 65536-byte limit",
      ]);
    });
  });
});
