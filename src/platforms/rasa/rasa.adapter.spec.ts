import 'reflect-metadata';

import { plainToInstance } from 'class-transformer';
import type { FulfillmentResult } from '../../fulfillment';
import { renderResponse, slotStateOf, toDispatchInput } from './rasa.adapter';
import { RasaActionCall } from './rasa.request';
import type { Caller } from '../../common/caller';

const CALLER: Caller = { id: 'rasa-prod', platforms: ['rasa'] };

function call(tracker: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): RasaActionCall {
  return plainToInstance(RasaActionCall, {
    next_action: 'action_get_account_balance',
    sender_id: 'user-1',
    tracker: {
      sender_id: 'user-1',
      slots: { user_id: '12345', account_type: null },
      latest_message: {
        text: 'my savings balance',
        intent: { name: 'check_balance', confidence: 0.9 },
        entities: [{ entity: 'account_type', value: 'savings', start: 3, end: 10 }],
      },
      events: [{ event: 'action' }, { event: 'user' }, { event: 'slot' }],
      active_loop: {},
      ...tracker,
    },
    domain: { slots: { user_id: {}, account_type: {}, requested_slot: {} } },
    ...extra,
  });
}

const SLOTS = { declared: new Set(['user_id', 'account_type', 'visits']), current: { user_id: '12345' } };

describe('toDispatchInput', () => {
  it('maps the call to the platform-neutral model', () => {
    const body = call();
    expect(toDispatchInput(body, 'GetAccountBalance', CALLER)).toEqual({
      platform: 'rasa',
      requestId: 'user-1:3',
      sessionId: 'user-1',
      intent: 'GetAccountBalance',
      parameters: { user_id: '12345', account_type: 'savings' },
      contexts: [],
      sessionParameters: { user_id: '12345', account_type: null },
      stage: 'fulfillment',
      confirmation: 'none',
      queryText: 'my savings balance',
      languageCode: 'en',
      caller: CALLER,
      raw: body,
    });
  });

  it('lets entities win over slots, the first value of an entity winning', () => {
    const input = toDispatchInput(
      call({
        slots: { account_type: 'checking', count: null },
        latest_message: {
          entities: [
            { entity: 'account_type', value: 'savings' },
            { entity: 'account_type', value: 'checking' },
            { entity: 'number', value: 3 },
            { entity: 'empty', value: null },
          ],
        },
      }),
      'X',
      CALLER,
    );
    expect(input.parameters).toEqual({ account_type: 'savings', number: 3 });
  });

  it('is in the dialog stage while a form runs', () => {
    expect(toDispatchInput(call({ active_loop: { name: 'account_form' } }), 'X', CALLER).stage).toBe('dialog');
    expect(toDispatchInput(call({ active_loop: { name: null } }), 'X', CALLER).stage).toBe('fulfillment');
    expect(toDispatchInput(call({ active_loop: undefined }), 'X', CALLER).stage).toBe('fulfillment');
  });

  it.each([
    [{ language: 'de-DE' }, 'de-DE'],
    [{ languageCode: 'fr' }, 'fr'],
    [{ language_code: 'es' }, 'es'],
    [{ language: '' }, 'en'],
    [{ language: 7 }, 'en'],
    [null, 'en'],
  ])('takes the language from metadata %j', (metadata, expected) => {
    const input = toDispatchInput(call({ latest_message: { metadata } }), 'X', CALLER);
    expect(input.languageCode).toBe(expected);
  });

  it('copes with an empty tracker', () => {
    const input = toDispatchInput(
      plainToInstance(RasaActionCall, { next_action: 'a', tracker: { sender_id: 'from-tracker' } }),
      'X',
      CALLER,
    );
    expect(input).toMatchObject({
      requestId: 'from-tracker:0',
      sessionId: 'from-tracker',
      parameters: {},
      sessionParameters: {},
      queryText: undefined,
    });
  });
});

describe('slotStateOf', () => {
  it('reads the declared slots from the domain and the current values from the tracker', () => {
    const state = slotStateOf(call());
    expect([...state.declared]).toEqual(['user_id', 'account_type', 'requested_slot']);
    expect(state.current).toEqual({ user_id: '12345', account_type: null });
    expect([...slotStateOf(call({}, { domain: undefined })).declared]).toEqual([]);
  });
});

describe('renderResponse', () => {
  const render = (result: Partial<FulfillmentResult>) => renderResponse({ text: 'ok', ...result }, SLOTS);

  it('renders the text as one response and no events', () => {
    expect(render({ text: 'Your balance is $5.' })).toEqual({
      events: [],
      responses: [{ text: 'Your balance is $5.' }],
    });
  });

  it('sends no response for an empty text', () => {
    expect(render({ text: '' })).toEqual({ events: [], responses: [] });
  });

  it('renders every rich message type', () => {
    const response = render({
      messages: [
        { type: 'text', text: 'hello' },
        { type: 'quick-replies', title: 'Pick', replies: ['a', 'b'] },
        { type: 'card', title: 'Card', subtitle: 'Sub', imageUrl: 'https://x/i.png', buttons: [{ text: 'Go' }] },
        { type: 'card', title: 'Bare' },
        { type: 'image', imageUrl: 'https://x/j.png', accessibilityText: 'J' },
        { type: 'payload', payload: { slack: { blocks: [] } } },
      ],
      payload: { channel: 'web' },
    });
    expect(response.responses).toEqual([
      { text: 'hello' },
      {
        text: 'Pick',
        buttons: [
          { title: 'a', payload: 'a' },
          { title: 'b', payload: 'b' },
        ],
      },
      { custom: { card: { title: 'Card', subtitle: 'Sub', imageUrl: 'https://x/i.png', buttons: [{ text: 'Go' }] } } },
      { custom: { card: { title: 'Bare' } } },
      { image: 'https://x/j.png' },
      { custom: { slack: { blocks: [] } } },
      { custom: { channel: 'web' } },
    ]);
  });

  it('attaches untitled quick replies to the text before them', () => {
    const response = render({
      messages: [
        { type: 'text', text: 'Which account?' },
        { type: 'quick-replies', replies: ['checking', 'savings'] },
        { type: 'quick-replies', replies: ['other'] },
      ],
    });
    expect(response.responses).toEqual([
      {
        text: 'Which account?',
        buttons: [
          { title: 'checking', payload: 'checking' },
          { title: 'savings', payload: 'savings' },
        ],
      },
      { text: '', buttons: [{ title: 'other', payload: 'other' }] },
    ]);
  });

  it('offers Yes/No buttons for a confirmation', () => {
    expect(render({ text: 'Book it?', confirm: true }).responses).toEqual([
      {
        text: 'Book it?',
        buttons: [
          { title: 'Yes', payload: 'Yes' },
          { title: 'No', payload: 'No' },
        ],
      },
    ]);
  });

  it('sets session parameters as slots, null resetting one', () => {
    expect(render({ sessionParameters: { visits: 2, obsolete: null } }).events).toEqual([
      { event: 'slot', name: 'visits', value: 2 },
      { event: 'slot', name: 'obsolete', value: null },
    ]);
  });

  it('sets declared, changed context parameters as slots; session parameters win', () => {
    const response = render({
      contexts: [
        { name: 'account-info', lifespan: 5, parameters: { user_id: '12345', account_type: 'savings', balance: 5 } },
        { name: 'gone', lifespan: 0, parameters: { visits: 9 } },
        { name: 'other', lifespan: 1, parameters: { visits: 3 } },
      ],
      sessionParameters: { visits: 4 },
    });
    expect(response.events).toEqual([
      { event: 'slot', name: 'account_type', value: 'savings' },
      { event: 'slot', name: 'visits', value: 4 },
    ]);
  });

  it('elicits a parameter with requested_slot and the prompt, resetting an invalid value', () => {
    expect(render({ text: 'Which date?', elicit: { parameter: 'date', invalid: true } })).toEqual({
      events: [
        { event: 'slot', name: 'date', value: null },
        { event: 'slot', name: 'requested_slot', value: 'date' },
      ],
      responses: [{ text: 'Which date?' }],
    });
    expect(render({ text: 'Which date?', elicit: { parameter: 'date' } }).events).toEqual([
      { event: 'slot', name: 'requested_slot', value: 'date' },
    ]);
  });

  it('renders a followup event as FollowupAction, after the slots', () => {
    expect(
      render({ followupEvent: { name: 'action_next', parameters: { a: 1 } }, sessionParameters: { v: 1 } }).events,
    ).toEqual([
      { event: 'slot', name: 'v', value: 1 },
      { event: 'followup', name: 'action_next' },
    ]);
  });

  it('adds a custom hand-off response and nothing extra for an end of conversation', () => {
    expect(render({ text: 'Connecting you.', handoff: { reason: 'asked' } }).responses).toEqual([
      { text: 'Connecting you.' },
      { custom: { handoff: { reason: 'asked' } } },
    ]);
    expect(render({ text: 'Goodbye.', endConversation: true })).toEqual({
      events: [],
      responses: [{ text: 'Goodbye.' }],
    });
  });

  it('answers a delegated turn with no events and no responses', () => {
    expect(render({ text: '', delegate: true, sessionParameters: { visits: 1 } })).toEqual({
      events: [],
      responses: [],
    });
  });

  it('copies payloads instead of sharing them with the result', () => {
    const payload = { k: 'v' };
    const response = render({ messages: [{ type: 'payload', payload }] });
    expect(response.responses[0]?.custom).toEqual(payload);
    expect(response.responses[0]?.custom).not.toBe(payload);
  });
});
