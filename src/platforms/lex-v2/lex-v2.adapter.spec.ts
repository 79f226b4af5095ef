import 'reflect-metadata';

import { plainToInstance } from 'class-transformer';
import type { FulfillmentResult } from '../../fulfillment';
import {
  checkResponse,
  eventRequestId,
  HANDOFF_ATTRIBUTE,
  LexV2Adapter,
  lexContextName,
  renderResponse,
  toDispatchInput,
} from './lex-v2.adapter';
import { JSON_ATTRIBUTES } from './lex-v2.json-attributes';
import { LexV2Event } from './lex-v2.request';
import { LEX_V2_LIMITS, LexV2Response } from './lex-v2.response';
import type { Caller } from '../../common/caller';

const CALLER: Caller = { id: 'lex-prod', platforms: ['lex-v2'] };

function slot(value: string) {
  return { shape: 'Scalar', value: { originalValue: value, interpretedValue: value, resolvedValues: [value] } };
}

function event(sessionState: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): LexV2Event {
  return plainToInstance(LexV2Event, {
    messageVersion: '1.0',
    invocationSource: 'FulfillmentCodeHook',
    inputMode: 'Text',
    sessionId: 'session-1',
    inputTranscript: 'balance please',
    bot: { id: 'B', name: 'Bot', aliasId: 'A', aliasName: 'Alias', localeId: 'en_US', version: 'DRAFT' },
    sessionState: {
      sessionAttributes: { tier: 'gold' },
      intent: {
        name: 'GetAccountBalance',
        slots: { user_id: slot('12345'), account_type: null },
        state: 'ReadyForFulfillment',
        confirmationState: 'None',
      },
      originatingRequestId: 'origin-1',
      ...sessionState,
    },
    ...extra,
  });
}

describe('toDispatchInput', () => {
  it('maps the event to the platform-neutral model', () => {
    const body = event({
      activeContexts: [
        { name: 'ctx', contextAttributes: { a: '1' }, timeToLive: { timeToLiveInSeconds: 60, turnsToLive: 2 } },
      ],
    });
    expect(toDispatchInput(body, CALLER)).toEqual({
      platform: 'lex-v2',
      requestId: 'origin-1',
      turnKey: 'session-1\norigin-1\nfulfillment',
      sessionId: 'session-1',
      intent: 'GetAccountBalance',
      parameters: { user_id: '12345' },
      contexts: [{ name: 'ctx', lifespan: 2, parameters: { a: '1' } }],
      sessionParameters: { tier: 'gold' },
      stage: 'fulfillment',
      confirmation: 'none',
      queryText: 'balance please',
      languageCode: 'en-US',
      caller: CALLER,
      raw: body,
    });
  });

  it('keys the turn by session, originatingRequestId and code hook: the dialog and fulfillment hooks are two turns', () => {
    const hook = (sessionId: string, invocationSource: string) =>
      event({ originatingRequestId: 'req-9' }, { sessionId, invocationSource });
    expect(toDispatchInput(hook('s-1', 'DialogCodeHook'), CALLER).turnKey).toBe('s-1\nreq-9\ndialog');
    expect(toDispatchInput(hook('s-1', 'FulfillmentCodeHook'), CALLER).turnKey).toBe('s-1\nreq-9\nfulfillment');
    expect(toDispatchInput(hook('s-2', 'FulfillmentCodeHook'), CALLER).turnKey).toBe('s-2\nreq-9\nfulfillment');
    // Two labelled dialog steps calling the code hook for the same request are two turns too.
    const labelled = (invocationLabel: string) =>
      event(
        { originatingRequestId: 'req-9' },
        { sessionId: 's-1', invocationSource: 'DialogCodeHook', invocationLabel },
      );
    expect(toDispatchInput(labelled('AfterAmount'), CALLER).turnKey).toBe('s-1\nreq-9\ndialog\nAfterAmount');
    expect(toDispatchInput(labelled('BeforeConfirm'), CALLER).turnKey).toBe('s-1\nreq-9\ndialog\nBeforeConfirm');
  });

  it('maps a dialog code hook to the dialog stage', () => {
    expect(toDispatchInput(event({}, { invocationSource: 'DialogCodeHook' }), CALLER).stage).toBe('dialog');
  });

  it.each([
    ['Confirmed', 'confirmed'],
    ['Denied', 'denied'],
    ['None', 'none'],
  ])('maps confirmationState %s to %s', (state, expected) => {
    const body = event({ intent: { name: 'X', confirmationState: state } });
    expect(toDispatchInput(body, CALLER).confirmation).toBe(expected);
  });

  it('maps list slots to arrays, composite sub-slots to slot.subSlot parameters, and leaves out unresolved slots', () => {
    const body = event({
      intent: {
        name: 'X',
        slots: {
          toppings: {
            shape: 'List',
            value: { originalValue: 'ham and cheese' },
            values: [slot('ham'), slot('cheese')],
          },
          address: { shape: 'Composite', subSlots: { city: slot('Berlin'), zip: null } },
          unresolved: { shape: 'Scalar', value: { originalValue: 'mumble' } },
          empty: null,
        },
      },
    });
    expect(toDispatchInput(body, CALLER).parameters).toEqual({
      toppings: ['ham', 'cheese'],
      'address.city': 'Berlin',
    });
  });

  it('maps nested composite and list sub-slots, and a shape-less slot by its fields', () => {
    const body = event({
      intent: {
        name: 'X',
        slots: {
          trip: {
            shape: 'Composite',
            subSlots: {
              origin: { shape: 'Composite', subSlots: { city: slot('Oslo') } },
              stops: { shape: 'List', values: [slot('Bergen'), slot('Trondheim')] },
            },
          },
          legacy: { subSlots: { a: slot('1') } },
          listed: { values: [slot('x')] },
        },
      },
    });
    expect(toDispatchInput(body, CALLER).parameters).toEqual({
      'trip.origin.city': 'Oslo',
      'trip.stops': ['Bergen', 'Trondheim'],
      'legacy.a': '1',
      listed: ['x'],
    });
  });

  it('passes runtimeHints and proposedNextState to handlers, and nothing when Lex sends neither', () => {
    const runtimeHints = {
      slotHints: { GetAccountBalance: { account_type: { runtimeHintValues: [{ phrase: 'ISA' }] } } },
    };
    const proposedNextState = {
      dialogAction: { type: 'ElicitSlot', slotToElicit: 'account_type' },
      intent: { name: 'GetAccountBalance', slots: {} },
    };
    const body = event({ runtimeHints }, { proposedNextState });
    expect(toDispatchInput(body, CALLER).platformDetails).toEqual({ runtimeHints, proposedNextState });
    expect(toDispatchInput(event(), CALLER)).not.toHaveProperty('platformDetails');
  });

  it('derives a stable request id from the session and the event when Lex sends none', () => {
    const body = event({ originatingRequestId: undefined });
    const id = toDispatchInput(body, CALLER).requestId;
    expect(id).toMatch(/^session-1:[0-9a-f]{16}$/);
    expect(eventRequestId(event({ originatingRequestId: undefined }))).toBe(id);
    expect(eventRequestId(event({ originatingRequestId: undefined }, { inputTranscript: 'other' }))).not.toBe(id);
  });

  it.each([
    ['es_419', 'es-419'],
    ['de_DE', 'de-DE'],
  ])('maps locale %s to %s', (localeId, languageCode) => {
    const body = event({}, { bot: { id: 'B', name: 'Bot', localeId } });
    expect(toDispatchInput(body, CALLER).languageCode).toBe(languageCode);
  });
});

describe('an intent without a handler', () => {
  const adapter = new LexV2Adapter();
  const fallback = { text: "Sorry, I can't help with that yet." };
  const rendered = (invocationSource: string) => {
    const turn = adapter.toTurn(event({}, { invocationSource }), { caller: CALLER, requestId: 'r', arrivedAt: 0 });
    return adapter.render(fallback, 'fallback', turn).sessionState;
  };

  it('closes Failed at fulfillment: the intent was not fulfilled, so the bot takes its failure branch', () => {
    expect(rendered('FulfillmentCodeHook')).toMatchObject({
      dialogAction: { type: 'Close' },
      intent: { name: 'GetAccountBalance', state: 'Failed' },
    });
  });

  it('delegates at a dialog code hook: nothing to validate, Lex carries on', () => {
    expect(rendered('DialogCodeHook')).toMatchObject({ dialogAction: { type: 'Delegate' } });
  });
});

describe('a turn past its deadline (the interim reply)', () => {
  const adapter = new LexV2Adapter();
  const INTERIM = "I'm still working on that. Please ask me again in a moment.";
  const interim: FulfillmentResult = { text: INTERIM, sessionParameters: { pendingFulfillmentId: 'pending-1' } };
  const rendered = (invocationSource: string) => {
    const turn = adapter.toTurn(event({}, { invocationSource }), { caller: CALLER, requestId: 'r', arrivedAt: 0 });
    return adapter.render(interim, 'timed-out', turn);
  };

  it('is not Fulfilled at fulfillment: ElicitIntent with the interim message and no intent, as AWS documents it', () => {
    const response = rendered('FulfillmentCodeHook');
    expect(response.sessionState.dialogAction).toEqual({ type: 'ElicitIntent' });
    expect(response.sessionState).not.toHaveProperty('intent');
    expect(response.messages).toEqual([{ contentType: 'PlainText', content: INTERIM }]);
    // The id "any news?" fetches the result by, kept with the bot's own attributes.
    expect(response.sessionState.sessionAttributes).toEqual({ tier: 'gold', pendingFulfillmentId: 'pending-1' });
    expect(checkResponse(response).problems).toEqual([]);
  });

  it('delegates at a dialog code hook, with the interim message, as before', () => {
    const response = rendered('DialogCodeHook');
    expect(response.sessionState.dialogAction).toEqual({ type: 'Delegate' });
    expect(response.sessionState.intent?.state).toBe('ReadyForFulfillment');
    expect(response.messages).toEqual([{ contentType: 'PlainText', content: INTERIM }]);
    expect(response.sessionState.sessionAttributes).toEqual({ tier: 'gold', pendingFulfillmentId: 'pending-1' });
  });

  it('closes Fulfilled when the same reply came in time (a handler answering "still working" itself)', () => {
    const turn = adapter.toTurn(event(), { caller: CALLER, requestId: 'r', arrivedAt: 0 });
    expect(adapter.render(interim, 'fulfilled', turn).sessionState).toMatchObject({
      dialogAction: { type: 'Close' },
      intent: { state: 'Fulfilled' },
    });
  });
});

describe('renderResponse', () => {
  const render = (
    result: Partial<FulfillmentResult>,
    stage: 'dialog' | 'fulfillment' = 'fulfillment',
    body = event(),
  ) => renderResponse({ text: 'ok', ...result }, body, stage);

  describe('composite slots', () => {
    const address = { shape: 'Composite', subSlots: { street: slot('Main St 1'), city: slot('Springfield') } };
    const withAddress = () =>
      event(
        { intent: { name: 'UpdateAddress', slots: { address, note: null }, state: 'InProgress' } },
        {
          invocationSource: 'DialogCodeHook',
        },
      );

    it("asks for a sub-slot with Lex's subSlotToElicit", () => {
      const response = render({ text: 'Which city?', elicit: { parameter: 'address.city' } }, 'dialog', withAddress());
      expect(response.sessionState.dialogAction).toEqual({
        type: 'ElicitSlot',
        slotToElicit: 'address',
        subSlotToElicit: { name: 'city' },
      });
      expect(response.sessionState.intent?.slots).toEqual({ address, note: null });
      expect(checkResponse(response).problems).toEqual([]);
    });

    it('finds a bare sub-slot name in the one composite slot that has it', () => {
      const response = render({ text: 'Which city?', elicit: { parameter: 'city' } }, 'dialog', withAddress());
      expect(response.sessionState.dialogAction).toEqual({
        type: 'ElicitSlot',
        slotToElicit: 'address',
        subSlotToElicit: { name: 'city' },
      });
    });

    it('clears only the invalid sub-slot, leaving the request untouched', () => {
      const body = withAddress();
      const response = render(
        { text: 'That city is unknown.', elicit: { parameter: 'address.city', invalid: true } },
        'dialog',
        body,
      );
      expect(response.sessionState.intent?.slots).toEqual({
        address: { shape: 'Composite', subSlots: { street: slot('Main St 1'), city: null } },
        note: null,
      });
      expect(body.sessionState.intent.slots?.address?.subSlots?.city).toEqual(slot('Springfield'));
    });

    it('nests subSlotToElicit for a sub-slot of a sub-slot', () => {
      const response = render({ text: '?', elicit: { parameter: 'trip.origin.city' } }, 'dialog');
      expect(response.sessionState.dialogAction).toEqual({
        type: 'ElicitSlot',
        slotToElicit: 'trip',
        subSlotToElicit: { name: 'origin', subSlotToElicit: { name: 'city' } },
      });
    });

    it('asks for a plain slot as before', () => {
      const response = render({ text: 'Which account?', elicit: { parameter: 'account_type' } }, 'dialog');
      expect(response.sessionState.dialogAction).toEqual({ type: 'ElicitSlot', slotToElicit: 'account_type' });
    });
  });

  describe('long replies', () => {
    const sentence = (n: number) => `Sentence number ${n} says something useful about your account. `;
    const long = Array.from({ length: 40 }, (_, n) => sentence(n))
      .join('')
      .trim();

    it('splits a reply over 1000 characters into messages of at most 1000, at sentence ends, losing nothing', () => {
      const response = render({ text: long });
      const contents = (response.messages ?? []).map((message) => message.content ?? '');
      expect(contents.length).toBeGreaterThan(1);
      for (const content of contents) {
        expect(content.length).toBeLessThanOrEqual(1000);
        expect(content).toMatch(/\.$/);
      }
      expect(contents.join(' ')).toBe(long);
      expect(checkResponse(response).problems).toEqual([]);
    });

    it('splits a reply without spaces at the limit', () => {
      const contents = (render({ text: 'x'.repeat(2500) }).messages ?? []).map((message) => message.content);
      expect(contents.map((content) => content?.length)).toEqual([1000, 1000, 500]);
    });

    it('splits SSML between top-level elements and wraps every piece in <speak>', () => {
      const paragraphs = Array.from({ length: 30 }, (_, n) => `<p>${sentence(n)}<break time="300ms"/></p>`).join(' ');
      const response = render({ text: `<speak>${paragraphs}</speak>` });
      const messages = response.messages ?? [];
      expect(messages.length).toBeGreaterThan(1);
      for (const message of messages) {
        expect(message.contentType).toBe('SSML');
        expect(message.content).toMatch(/^<speak><p>[\s\S]*<\/p><\/speak>$/);
        expect(message.content!.length).toBeLessThanOrEqual(1000);
      }
      expect(checkResponse(response).problems).toEqual([]);
    });

    it("opens every piece of SSML with the reply's own <speak> tag, attributes included", () => {
      const paragraphs = Array.from({ length: 30 }, (_, n) => `<p>${sentence(n)}</p>`).join(' ');
      const response = render({ text: `<speak xml:lang="de-DE">${paragraphs}</speak>` });
      const messages = response.messages ?? [];
      expect(messages.length).toBeGreaterThan(1);
      for (const message of messages) {
        expect(message.contentType).toBe('SSML');
        expect(message.content).toMatch(/^<speak xml:lang="de-DE"><p>[^<]*<\/p>(?: <p>[^<]*<\/p>)*<\/speak>$/);
      }
      expect(checkResponse(response).problems).toEqual([]);
    });

    it('keeps joined plain-text runs within 1000 characters when there are more than 10 messages', () => {
      const messages = Array.from({ length: 14 }, (_, n) => ({ type: 'text' as const, text: sentence(n).repeat(4) }));
      const response = render({ messages });
      expect(response.messages!.length).toBeLessThanOrEqual(LEX_V2_LIMITS.messages);
      expect(checkResponse(response).problems).toEqual([]);
    });
  });

  it('closes a fulfilled intent and echoes the slots', () => {
    expect(render({ text: 'Your balance is $5.' })).toEqual({
      sessionState: {
        sessionAttributes: { tier: 'gold' },
        dialogAction: { type: 'Close' },
        intent: {
          name: 'GetAccountBalance',
          slots: { user_id: slot('12345'), account_type: null },
          state: 'Fulfilled',
          confirmationState: 'None',
        },
      },
      messages: [{ contentType: 'PlainText', content: 'Your balance is $5.' }],
    });
  });

  it('delegates a dialog-stage answer with its messages', () => {
    const response = render({ text: 'Noted.' }, 'dialog');
    expect(response.sessionState.dialogAction).toEqual({ type: 'Delegate' });
    expect(response.sessionState.intent?.state).toBe('ReadyForFulfillment');
    expect(response.messages).toEqual([{ contentType: 'PlainText', content: 'Noted.' }]);
  });

  it('delegates without messages when asked to', () => {
    const response = render({ text: 'ignored', delegate: true });
    expect(response.sessionState.dialogAction).toEqual({ type: 'Delegate' });
    expect(response).not.toHaveProperty('messages');
  });

  it('elicits a slot and clears it only when the value was invalid', () => {
    const valid = render({ text: 'Which account?', elicit: { parameter: 'user_id' } });
    expect(valid.sessionState.dialogAction).toEqual({ type: 'ElicitSlot', slotToElicit: 'user_id' });
    expect(valid.sessionState.intent?.state).toBe('InProgress');
    expect(valid.sessionState.intent?.slots?.user_id).toEqual(slot('12345'));
    const invalid = render({ text: 'Which account?', elicit: { parameter: 'user_id', invalid: true } });
    expect(invalid.sessionState.intent?.slots?.user_id).toBeNull();
  });

  it('clears a confirmation the user gave when a slot is asked for again (the next turn would act on it)', () => {
    const confirmed = event({
      intent: {
        name: 'BookAppointment',
        slots: { time: slot('10:00') },
        state: 'InProgress',
        confirmationState: 'Confirmed',
      },
    });
    const response = renderResponse(
      { text: 'That time was just taken. Which time?', elicit: { parameter: 'time', invalid: true } },
      confirmed,
      'fulfillment',
    );
    expect(response.sessionState.dialogAction).toEqual({ type: 'ElicitSlot', slotToElicit: 'time' });
    expect(response.sessionState.intent).toMatchObject({
      state: 'InProgress',
      confirmationState: 'None',
      slots: { time: null },
    });
  });

  it('asks for confirmation', () => {
    const response = render({ text: 'Sure?', confirm: true });
    expect(response.sessionState.dialogAction).toEqual({ type: 'ConfirmIntent' });
    expect(response.sessionState.intent).toMatchObject({ state: 'InProgress', confirmationState: 'None' });
  });

  it('closes a failed intent as Failed', () => {
    const response = render({ text: 'Sorry.', failed: true }, 'dialog');
    expect(response.sessionState.dialogAction).toEqual({ type: 'Close' });
    expect(response.sessionState.intent?.state).toBe('Failed');
  });

  it('closes on a hand-off and an end of conversation, even at a dialog hook', () => {
    const handoff = render({ text: 'Connecting you.', handoff: { reason: 'human' } }, 'dialog');
    expect(handoff.sessionState.dialogAction).toEqual({ type: 'Close' });
    expect(handoff.sessionState.sessionAttributes[HANDOFF_ATTRIBUTE]).toBe('{"reason":"human"}');
    expect(render({ text: 'Bye.', endConversation: true }, 'dialog').sessionState.dialogAction.type).toBe('Close');
  });

  it('leaves the hand-off attribute in the reply that hands off only: Lex would keep it for every later turn', () => {
    const later = event({ sessionAttributes: { tier: 'gold', [HANDOFF_ATTRIBUTE]: '{"reason":"human"}' } });
    expect(render({ text: 'Anything else?' }, 'fulfillment', later).sessionState.sessionAttributes).toEqual({
      tier: 'gold',
    });
    const again = render({ text: 'Connecting you.', handoff: { reason: 'billing' } }, 'fulfillment', later);
    expect(again.sessionState.sessionAttributes[HANDOFF_ATTRIBUTE]).toBe('{"reason":"billing"}');
  });

  it('stringifies non-string session values, listing them as JSON for the next turn, and null removes one', () => {
    const response = render({ sessionParameters: { visits: 2, tags: ['a'], flag: true, name: 'x', tier: null } });
    expect(response.sessionState.sessionAttributes).toEqual({
      visits: '2',
      tags: '["a"]',
      flag: 'true',
      name: 'x',
      [JSON_ATTRIBUTES]: '{"session":["visits","tags","flag"]}',
    });
  });

  it('renders SSML when the text starts with <speak>, with or without attributes', () => {
    expect(render({ text: '<speak>Hello</speak>' }).messages).toEqual([
      { contentType: 'SSML', content: '<speak>Hello</speak>' },
    ]);
    const german = '<speak xml:lang="de-DE">Hallo <break time="1s"/></speak>';
    expect(render({ text: german }).messages).toEqual([{ contentType: 'SSML', content: german }]);
    expect(render({ text: '<speaker>is plain text</speaker>' }).messages?.[0]?.contentType).toBe('PlainText');
  });

  it('sends back the contexts Lex sent under their own names, digits and hyphens included', () => {
    const body = event({
      activeContexts: [
        { name: 'order-fulfilled', contextAttributes: {}, timeToLive: { timeToLiveInSeconds: 60, turnsToLive: 2 } },
        { name: 'step2', contextAttributes: { a: '1' }, timeToLive: { timeToLiveInSeconds: 60, turnsToLive: 2 } },
      ],
    });
    const response = render({ text: 'ok' }, 'fulfillment', body);
    expect(response.sessionState.activeContexts?.map((context) => context.name)).toEqual(['order-fulfilled', 'step2']);
    expect(checkResponse(response).problems).toEqual([]);
  });

  it("keeps a context's attributes within Lex's limits: values of 1 to 1024 characters, at most 10", () => {
    const parameters: Record<string, unknown> = {
      empty: '',
      none: null,
      long: 'x'.repeat(1025),
      fine: 'y'.repeat(1024),
    };
    for (let i = 0; i < 12; i++) parameters[`p${i}`] = i;
    const response = render({ contexts: [{ name: 'cart', lifespan: 2, parameters }] });
    const [cart] = response.sessionState.activeContexts ?? [];
    expect(Object.keys(cart.contextAttributes)).toEqual(['fine', 'p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8']);
    expect(checkResponse(response).problems).toEqual([]);
  });

  it('refuses a response with more than the 20 active contexts Lex keeps', () => {
    const contexts = Array.from({ length: 21 }, (_, i) => ({ name: `c${i}`, lifespan: 1 }));
    expect(checkResponse(render({ contexts })).problems).toEqual(["response has 21 active contexts, over Lex's 20"]);
  });

  it('renders quick replies as a card of at most 5 buttons, titled with the text when untitled', () => {
    const response = render({
      text: 'Pick one',
      messages: [{ type: 'quick-replies', replies: ['1', '2', '3', '4', '5', '6'] }],
    });
    expect(response.messages?.[0]?.imageResponseCard?.title).toBe('Pick one');
    expect(response.messages?.[0]?.imageResponseCard?.buttons).toHaveLength(5);
  });

  it('titles untitled quick replies with the text cut to 250 characters, never inside a surrogate pair', () => {
    const text = `${'a'.repeat(249)}😀 and more`;
    const response = render({ text, messages: [{ type: 'quick-replies', replies: ['Yes', 'No'] }] });
    expect(response.messages?.[0]?.imageResponseCard?.title).toBe(`${'a'.repeat(249)}…`);
    expect(checkResponse(response).problems).toEqual([]);
  });

  it('joins text messages when there are more than Lex accepts', () => {
    const messages = Array.from({ length: 12 }, (_, i) => ({ type: 'text' as const, text: `line ${i}` }));
    const response = render({ messages });
    expect(response.messages).toEqual([{ contentType: 'PlainText', content: messages.map((m) => m.text).join('\n') }]);
  });

  it('keeps active contexts, applies valid updates, maps names to Lex form and drops names Lex would still reject', () => {
    const body = event({
      activeContexts: [
        { name: 'keep', contextAttributes: {}, timeToLive: { timeToLiveInSeconds: 60, turnsToLive: 2 } },
        { name: 'drop', contextAttributes: {}, timeToLive: { timeToLiveInSeconds: 60, turnsToLive: 2 } },
      ],
    });
    const response = render(
      {
        contexts: [
          { name: 'drop', lifespan: 0 },
          { name: 'account-info', lifespan: 5, parameters: { user_id: '12345', balance: 12.5 } },
          { name: 'new_one', lifespan: 50, parameters: { n: 1 } },
          { name: 'order.status v2', lifespan: 3 },
          { name: 'bad/name', lifespan: 3 },
          { name: '_leading', lifespan: 3 },
        ],
      },
      'fulfillment',
      body,
    );
    expect(response.sessionState.activeContexts).toEqual([
      { name: 'keep', contextAttributes: {}, timeToLive: { timeToLiveInSeconds: 60, turnsToLive: 2 } },
      {
        name: 'account_info',
        contextAttributes: { user_id: '12345', balance: '12.5' },
        timeToLive: { timeToLiveInSeconds: 600, turnsToLive: 5 },
      },
      { name: 'new_one', contextAttributes: { n: '1' }, timeToLive: { timeToLiveInSeconds: 600, turnsToLive: 20 } },
      { name: 'order_status_v2', contextAttributes: {}, timeToLive: { timeToLiveInSeconds: 600, turnsToLive: 3 } },
    ]);
    expect(lexContextName('account-info')).toBe('account_info');
    expect(lexContextName('a.b c--d')).toBe('a_b_c_d');
  });

  it('sends back no expired context, and the others within the time and turns Lex allows', () => {
    const body = event({
      activeContexts: [
        { name: 'noTurnsLeft', contextAttributes: {}, timeToLive: { timeToLiveInSeconds: 60, turnsToLive: 0 } },
        { name: 'noTimeLeft', contextAttributes: {}, timeToLive: { timeToLiveInSeconds: 0, turnsToLive: 3 } },
        { name: 'almostOver', contextAttributes: {}, timeToLive: { timeToLiveInSeconds: 3, turnsToLive: 1 } },
        { name: 'tooLong', contextAttributes: {}, timeToLive: { timeToLiveInSeconds: 1e12, turnsToLive: 99 } },
      ],
    });
    expect(render({}, 'fulfillment', body).sessionState.activeContexts).toEqual([
      { name: 'almostOver', contextAttributes: {}, timeToLive: { timeToLiveInSeconds: 5, turnsToLive: 1 } },
      {
        name: 'tooLong',
        contextAttributes: {},
        timeToLive: { timeToLiveInSeconds: LEX_V2_LIMITS.contextSeconds, turnsToLive: LEX_V2_LIMITS.contextTurns },
      },
    ]);
  });

  it('sends the slots back, except for a turn that failed: its Failed intent ends whatever they held', () => {
    const slots = { user_id: { ...slot('12345'), futureSlotField: 'x' }, account_type: null };
    const body = event({ intent: { name: 'GetAccountBalance', slots, state: 'ReadyForFulfillment' } });
    expect(render({}, 'fulfillment', body).sessionState.intent?.slots).toEqual({
      user_id: slot('12345'),
      account_type: null,
    });
    const failed = renderResponse({ text: 'Sorry.', failed: true }, body, 'fulfillment', { echoSlots: false });
    expect(failed.sessionState.intent).toEqual({
      name: 'GetAccountBalance',
      state: 'Failed',
      confirmationState: 'None',
    });
  });

  it('echoes request attributes', () => {
    expect(render({}, 'fulfillment', event({}, { requestAttributes: { a: 'b' } })).requestAttributes).toEqual({
      a: 'b',
    });
  });
});

describe('checkResponse', () => {
  const render = (result: Partial<FulfillmentResult>) =>
    renderResponse({ text: 'ok', ...result }, event(), 'fulfillment');

  it('finds no problems in a valid response and returns its JSON', () => {
    const response = render({ messages: [{ type: 'card', title: 'T', buttons: [{ text: 'Go' }] }] });
    expect(checkResponse(response)).toEqual({ problems: [], json: JSON.stringify(response) });
  });

  it('rejects an ElicitSlot for a slot the intent does not have, naming the slots it has', () => {
    const ask = (parameter: string) => render({ text: 'Which one?', elicit: { parameter } });
    expect(checkResponse(ask('account_type')).problems).toEqual([]);
    expect(checkResponse(ask('accountType')).problems).toEqual([
      'ElicitSlot asks for slot "accountType", which intent "GetAccountBalance" does not have (its slots: user_id, account_type)',
    ]);
    // Slots all filled, or none sent: not a complete list to check against (a request built by hand).
    const filled = renderResponse(
      { text: 'Which one?', elicit: { parameter: 'anything' } },
      event({ intent: { name: 'Other', slots: { user_id: slot('12345') }, state: 'InProgress' } }),
      'dialog',
    );
    expect(checkResponse(filled).problems).toEqual([]);
  });

  it('rejects message content over 1000 characters and an empty one', () => {
    const long: LexV2Response = { ...render({}), messages: [{ contentType: 'PlainText', content: 'x'.repeat(1001) }] };
    expect(checkResponse(long).problems).toEqual(['message 1 content is outside 1-1000 characters']);
    expect(checkResponse(render({ text: 'x'.repeat(1000) })).problems).toEqual([]);
    expect(checkResponse(render({ messages: [{ type: 'text', text: '' }] })).problems).toEqual([
      'message 1 content is outside 1-1000 characters',
    ]);
  });

  it('rejects card fields and buttons Lex would reject', () => {
    const response = render({ messages: [{ type: 'card', title: 't', buttons: [{ text: 'b' }] }] });
    response.messages![0].imageResponseCard = {
      title: 't'.repeat(251),
      buttons: [{ text: 'b'.repeat(51), value: 'b'.repeat(51) }],
    };
    expect(checkResponse(response).problems).toEqual([
      'message 1 has a card title outside 1-250 characters',
      'message 1 button 1 text is outside 1-50 characters',
      'message 1 button 1 value is outside 1-50 characters',
    ]);
  });

  it('fits long card text and buttons into what Lex takes, so one long button does not cost the whole reply', () => {
    const url = 'https://portal.example-health.org/appointments/new?src=bot';
    const response = render({
      messages: [
        {
          type: 'card',
          title: 't'.repeat(300),
          subtitle: `${'s'.repeat(248)}😀 and more`,
          imageUrl: `https://img.example/${'i'.repeat(250)}.png`,
          buttons: [{ text: 'Book online', postback: url }, { text: 'b'.repeat(60) }],
        },
        { type: 'quick-replies', replies: ['r'.repeat(51), 'Yes'] },
      ],
    });
    expect(checkResponse(response).problems).toEqual([]);
    const [card, replies] = response.messages!.map((message) => message.imageResponseCard!);
    expect(card.title).toBe(`${'t'.repeat(249)}…`);
    expect(card.subtitle).toBe(`${'s'.repeat(248)}…`);
    expect(card.imageUrl).toBeUndefined();
    // A button whose shortened label would be what it sends is left out: tapped, it would send words nothing matches.
    expect(card.buttons).toEqual([{ text: 'Book online', value: 'Book online' }]);
    expect(replies.buttons).toEqual([{ text: 'Yes', value: 'Yes' }]);
  });

  it('keeps the value of a button whose label alone is too long, and says the replies when none fits a button', () => {
    const long = "I'd like to talk to a customer service representative";
    const card = render({ messages: [{ type: 'card', title: 'Help', buttons: [{ text: long, postback: 'agent' }] }] })
      .messages![0].imageResponseCard!;
    expect(card.buttons).toEqual([{ text: `${long.slice(0, 49)}…`, value: 'agent' }]);
    const response = render({ text: 'What now?', messages: [{ type: 'quick-replies', replies: [long, ''] }] });
    expect(response.messages).toEqual([{ contentType: 'PlainText', content: long }]);
    expect(checkResponse(response).problems).toEqual([]);
  });

  it('rejects a ConfirmIntent without messages and an ElicitSlot without a slot', () => {
    expect(checkResponse(render({ text: '', confirm: true })).problems).toEqual(['ConfirmIntent needs messages']);
    expect(checkResponse(render({ elicit: { parameter: '' } })).problems).toEqual(['ElicitSlot needs slotToElicit']);
  });

  it('rejects attributes over 12 KB', () => {
    const { problems } = checkResponse(render({ sessionParameters: { big: 'x'.repeat(13 * 1024) } }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^attributes are \d+ bytes, over Lex's 12288-byte limit$/);
  });

  it('rejects a response over 25 KB, counting bytes', () => {
    const messages = Array.from({ length: 10 }, () => ({ type: 'text' as const, text: '€'.repeat(1000) }));
    const { problems, json } = checkResponse(render({ messages }));
    expect(Buffer.byteLength(json)).toBeGreaterThan(LEX_V2_LIMITS.responseBytes);
    expect(problems).toEqual([`response is ${Buffer.byteLength(json)} bytes, over Lex's 25600-byte limit`]);
  });

  it('reports a response that cannot be serialised', () => {
    const response: LexV2Response = render({});
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    (response as unknown as Record<string, unknown>).extra = loop;
    expect(checkResponse(response)).toEqual({ problems: ['response is not serialisable to JSON'], json: '' });
  });
});
