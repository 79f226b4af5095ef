import 'reflect-metadata';

import { Logger } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { loadConfig } from '../../config';
import type { FulfillmentResult, IntentHandlerRegistry } from '../../fulfillment';
import { RasaAdapter, renderResponse, toDispatchInput } from './rasa.adapter';
import { RasaActionCall } from './rasa.request';
import { RasaSlotNames } from './rasa.slots';
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
      turnKey: expect.any(String),
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

  it('is in the dialog stage for the active form’s own validation step', () => {
    const form = { active_loop: { name: 'account_form' } };
    const step = (tracker: Record<string, unknown>, action: string) =>
      toDispatchInput(call(tracker, { next_action: action }), 'X', CALLER).stage;
    expect(step(form, 'validate_account_form')).toBe('dialog');
    expect(step(form, 'account_form')).toBe('dialog');
    // Another action while the form runs (a rule answering the user's question mid-form) acts now.
    expect(step(form, 'action_get_account_balance')).toBe('fulfillment');
    expect(step(form, 'validate_other_form')).toBe('fulfillment');
    expect(step({ active_loop: { name: null } }, 'validate_account_form')).toBe('fulfillment');
    expect(step({ active_loop: undefined }, 'action_get_account_balance')).toBe('fulfillment');
  });

  it.each([
    [{ language: 'de-DE' }, 'de-DE'],
    [{ languageCode: 'fr' }, 'fr'],
    [{ language_code: 'es' }, 'es'],
    [{ language: '' }, 'en'],
    [{ language: 7 }, 'en'],
    [null, 'en'],
    ['de', 'en'],
    [['de'], 'en'],
    // Not language tags: a channel's own metadata, set by whoever writes to the web chat.
    [{ language: 'constructor' }, 'en'],
    [{ language: 'de DE' }, 'en'],
    [{ language: 'x'.repeat(36) }, 'en'],
    [{ language: 'de\n' }, 'de'],
    [{ language: '../etc', languageCode: 'fr' }, 'fr'],
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

describe('renderResponse', () => {
  const render = (result: Partial<FulfillmentResult>) =>
    renderResponse({ text: 'ok', ...result }, SLOTS, new RasaSlotNames({})).response;

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
    expect(render({ sessionParameters: { visits: 2, user_id: null } }).events).toEqual([
      { event: 'slot', name: 'visits', value: 2 },
      { event: 'slot', name: 'user_id', value: null },
    ]);
  });

  it('names the values it did not set because no declared slot takes them', () => {
    const rendered = renderResponse(
      { text: 'ok', sessionParameters: { visits: 2, obsolete: null, cart: 'x' } },
      SLOTS,
      new RasaSlotNames({ cart: 'account_type' }),
    );
    expect(rendered.response.events).toEqual([
      { event: 'slot', name: 'visits', value: 2 },
      { event: 'slot', name: 'account_type', value: 'x' },
    ]);
    expect(rendered.dropped).toEqual(['obsolete']);
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
    const render = (result: Partial<FulfillmentResult>) =>
      renderResponse({ text: 'ok', ...result }, { current: {} }, new RasaSlotNames({})).response;
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
      render({ followupEvent: { name: 'action_next', parameters: { a: 1 } }, sessionParameters: { visits: 1 } }).events,
    ).toEqual([
      { event: 'slot', name: 'visits', value: 1 },
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

  it('answers a delegated turn with no events and no responses, and drops nothing it did not try to set', () => {
    const rendered = renderResponse(
      { text: '', delegate: true, sessionParameters: { visits: 1, obsolete: 2 } },
      SLOTS,
      new RasaSlotNames({}),
    );
    expect(rendered).toEqual({ response: { events: [], responses: [] }, dropped: [] });
  });

  it('copies payloads instead of sharing them with the result', () => {
    const payload = { k: 'v' };
    const response = render({ messages: [{ type: 'payload', payload }] });
    expect(response.responses[0]?.custom).toEqual(payload);
    expect(response.responses[0]?.custom).not.toBe(payload);
  });
});

describe('RasaAdapter.render', () => {
  afterEach(() => jest.restoreAllMocks());

  it('logs one warning naming the values no declared slot takes, never their values', () => {
    const warnings: string[] = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
    const adapter = new RasaAdapter({} as IntentHandlerRegistry, loadConfig({ RASA_SLOT_MAP: 'cart=visits' }, '/srv'));
    const turn = adapter.toTurn(call(), { caller: CALLER, requestId: 'req-1', arrivedAt: 0 });
    const response = adapter.render(
      { text: 'ok', sessionParameters: { account_type: 'savings', cart: 2, secretCode: 'hunter2', pin: 1234 } },
      'fulfilled',
      turn,
    );
    expect(response.events).toEqual([{ event: 'slot', name: 'account_type', value: 'savings' }]);
    // `visits` is not declared by this domain, so the mapped `cart` has no slot either.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/secretCode, pin\b/);
    expect(warnings[0]).toContain('cart');
    expect(warnings[0]).toContain('RASA_SLOT_MAP');
    expect(warnings[0]).not.toContain('hunter2');
    expect(warnings[0]).not.toContain('1234');
  });

  it("resets the slots a form's validation action was asked to check when the check did not happen", () => {
    const adapter = new RasaAdapter({} as IntentHandlerRegistry, loadConfig({}, '/srv'));
    // The user answered "savings"; Rasa set the slot (and requested_slot) and asks validate_account_form.
    const validation = call(
      {
        active_loop: { name: 'account_form' },
        events: [
          { event: 'user', text: 'from savings' },
          { event: 'slot', name: 'account_type', value: 'savings' },
          { event: 'slot', name: 'requested_slot', value: 'account_type' },
        ],
      },
      { next_action: 'validate_account_form' },
    );
    const turn = adapter.toTurn(validation, { caller: CALLER, requestId: 'req-1', arrivedAt: 0 });
    const reset = [{ event: 'slot', name: 'account_type', value: null }];
    // A handler that threw, a dependency down (both 'failed'), the deadline passed: Rasa would take the value as valid.
    expect(adapter.render({ text: 'Sorry, something went wrong.', failed: true }, 'failed', turn).events).toEqual(
      reset,
    );
    expect(adapter.render({ text: "I'm still working on that." }, 'timed-out', turn).events).toEqual(reset);
    // The handler's own answer decides: nothing reset when it accepts, its own value when it sets one.
    expect(adapter.render({ text: '' }, 'fulfilled', turn).events).toEqual([]);
    expect(
      adapter.render({ text: 'x', failed: true, sessionParameters: { account_type: 'checking' } }, 'failed', turn)
        .events,
    ).toEqual([{ event: 'slot', name: 'account_type', value: 'checking' }]);
    // With the form's required slots in the domain, only those: the same message also filled a slot of another form.
    const withForms = call(
      {
        active_loop: { name: 'account_form' },
        events: [...(validation.tracker.events ?? []), { event: 'slot', name: 'user_id', value: '67890' }],
      },
      {
        next_action: 'validate_account_form',
        domain: {
          slots: { user_id: {}, account_type: {}, requested_slot: {} },
          forms: { account_form: { required_slots: ['account_type'] } },
        },
      },
    );
    const formTurn = adapter.toTurn(withForms, { caller: CALLER, requestId: 'req-3', arrivedAt: 0 });
    expect(adapter.render({ text: 'Sorry.', failed: true }, 'failed', formTurn).events).toEqual(reset);
    // Another action (not the form's validation) resets nothing.
    const other = adapter.toTurn(call({ active_loop: { name: 'account_form' }, events: validation.tracker.events }), {
      caller: CALLER,
      requestId: 'req-2',
      arrivedAt: 0,
    });
    expect(adapter.render({ text: 'Sorry.', failed: true }, 'failed', other).events).toEqual([]);
  });

  it('logs nothing when every value has a slot', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const adapter = new RasaAdapter({} as IntentHandlerRegistry, loadConfig({}, '/srv'));
    const turn = adapter.toTurn(call(), { caller: CALLER, requestId: 'req-1', arrivedAt: 0 });
    adapter.render({ text: 'ok', sessionParameters: { user_id: '1' } }, 'fulfilled', turn);
    expect(warn).not.toHaveBeenCalled();
  });
});
