import 'reflect-metadata';

import { plainToInstance } from 'class-transformer';
import type { FulfillmentResult } from '../../fulfillment';
import type { Caller } from '../../common/caller';
import { checkResponse, renderResponse, toDispatchInput } from './lex-v2.adapter';
import { JSON_ATTRIBUTES, JSON_ATTRIBUTES_MAX_CHARS, readJsonAttributeKeys } from './lex-v2.json-attributes';
import { LexV2Event } from './lex-v2.request';
import type { LexV2Response } from './lex-v2.response';

const CALLER: Caller = { id: 'lex-prod', platforms: ['lex-v2'] };

function event(sessionState: Record<string, unknown> = {}): LexV2Event {
  return plainToInstance(LexV2Event, {
    invocationSource: 'FulfillmentCodeHook',
    sessionId: 'session-1',
    bot: { localeId: 'en_US' },
    sessionState: {
      intent: { name: 'Shop', slots: {}, state: 'ReadyForFulfillment', confirmationState: 'None' },
      ...sessionState,
    },
  });
}

/** The event of the next turn, as Lex builds it: the session and contexts our reply left, plus what the bot set. */
function nextEvent(response: LexV2Response, botAttributes: Record<string, string> = {}): LexV2Event {
  const { sessionAttributes, activeContexts } = response.sessionState;
  return event({ sessionAttributes: { ...sessionAttributes, ...botAttributes }, activeContexts });
}

function reply(result: Partial<FulfillmentResult>, body = event()): LexV2Response {
  const response = renderResponse({ text: 'ok', ...result }, body, 'fulfillment');
  expect(checkResponse(response).problems).toEqual([]);
  return response;
}

const sessionOf = (body: LexV2Event) => toDispatchInput(body, CALLER).sessionParameters;

describe('Lex V2 session values keep their types from one turn to the next', () => {
  const values = {
    visits: 3,
    ratio: 0.25,
    vip: true,
    optedOut: false,
    cart: { items: ['X200'], note: null },
    tags: ['a', 1, null],
    name: 'Ada',
  };

  it('gives a handler back the numbers, booleans, objects and lists it kept in the session', () => {
    const session = sessionOf(nextEvent(reply({ sessionParameters: values })));
    expect(session).toEqual(values);
    expect((session.visits as number) + 1).toBe(4);
  });

  it('leaves an attribute the bot set a string, even one that reads as a number or JSON', () => {
    const turn = nextEvent(reply({ sessionParameters: { visits: 3 } }), { count: '3', config: '{"a":1}', yes: 'true' });
    expect(sessionOf(turn)).toEqual({ visits: 3, count: '3', config: '{"a":1}', yes: 'true' });
    expect(sessionOf(event({ sessionAttributes: { visits: '3' } }))).toEqual({ visits: '3' });
  });

  it('leaves a string the bot set over a listed value as it is, when decoding would change it', () => {
    const untouched = { big: 1e21, sum: 0.1 + 0.2, byKey: { b: [1.5, 'é'], 2: { deep: [null, -7] } } };
    const first = reply({
      sessionParameters: { orderId: 7, visits: 3, ratio: 0.5, cart: { items: ['X200'] }, ...untouched },
    });
    const turn = nextEvent(first, {
      orderId: '12345678901234567890',
      visits: '3.0',
      ratio: '5e-1',
      cart: '{ "items": ["X200"] }',
    });
    expect(sessionOf(turn)).toEqual({
      ...untouched,
      orderId: '12345678901234567890',
      visits: '3.0',
      ratio: '5e-1',
      cart: '{ "items": ["X200"] }',
    });
  });

  it('keeps the types of values no later turn touches, and forgets them when a handler sets a string or null', () => {
    const first = reply({ sessionParameters: { visits: 3, cart: ['X200'], tier: 2 } });
    const second = reply({ sessionParameters: { tier: 'gold' } }, nextEvent(first));
    const third = nextEvent(reply({ sessionParameters: { cart: null } }, nextEvent(second)));
    expect(sessionOf(third)).toEqual({ visits: 3, tier: 'gold' });
    expect(third.sessionState.sessionAttributes?.[JSON_ATTRIBUTES]).toBe('{"session":["visits"]}');
    const stringsOnly = reply({ sessionParameters: { visits: '4' } }, third);
    expect(stringsOnly.sessionState.sessionAttributes).toEqual({ visits: '4', tier: 'gold' });
  });

  it('gives back the types of the attributes of an active context, while Lex keeps it', () => {
    const parameters = { qty: 2, gift: false, sku: 'X200', options: { colour: 'red' } };
    const first = reply({ contexts: [{ name: 'cart-info', lifespan: 3, parameters }] });
    expect(first.sessionState.activeContexts?.[0]?.contextAttributes).toEqual({
      qty: '2',
      gift: 'false',
      sku: 'X200',
      options: '{"colour":"red"}',
    });
    const carried = reply({ text: 'Anything else?' }, nextEvent(first));
    const [context] = toDispatchInput(nextEvent(carried), CALLER).contexts;
    expect(context).toMatchObject({ name: 'cart_info', parameters });

    const replaced = reply(
      { contexts: [{ name: 'cart_info', lifespan: 1, parameters: { qty: '2' } }] },
      nextEvent(first),
    );
    expect(toDispatchInput(nextEvent(replaced), CALLER).contexts[0]?.parameters).toEqual({ qty: '2' });
    const ended = reply({ contexts: [{ name: 'cart_info', lifespan: 0 }] }, nextEvent(first));
    expect(ended.sessionState.sessionAttributes).not.toHaveProperty(JSON_ATTRIBUTES);
  });

  it('hides the listing from handlers and does not let one set it', () => {
    const turn = nextEvent(reply({ sessionParameters: { visits: 3, [JSON_ATTRIBUTES]: '{"session":["name"]}' } }));
    expect(turn.sessionState.sessionAttributes?.[JSON_ATTRIBUTES]).toBe('{"session":["visits"]}');
    expect(sessionOf(turn)).toEqual({ visits: 3 });
  });

  it.each([
    ['not JSON', '{"session":['],
    ['a bare list', '["visits"]'],
    ['a list of numbers', '{"session":[1]}'],
    ['contexts not an object', '{"session":["visits"],"contexts":["cart"]}'],
    ['a context with no list', '{"contexts":{"cart":"qty"}}'],
    ['too long', JSON.stringify({ session: ['visits', 'x'.repeat(JSON_ATTRIBUTES_MAX_CHARS)] })],
  ])('treats a listing that is %s as absent: every attribute stays a string', (_, listing) => {
    const body = event({
      sessionAttributes: { visits: '3', [JSON_ATTRIBUTES]: listing },
      activeContexts: [{ name: 'cart', contextAttributes: { qty: '2' }, timeToLive: { turnsToLive: 2 } }],
    });
    const input = toDispatchInput(body, CALLER);
    expect(input.sessionParameters).toEqual({ visits: '3' });
    expect(input.contexts[0]?.parameters).toEqual({ qty: '2' });
    expect(reply({}, body).sessionState.sessionAttributes).toEqual({ visits: '3' });
  });

  it('keeps as the string it is a listed value that does not decode as the body would', () => {
    const attributes = {
      text: 'hello',
      nul: '"a\\u0000b"',
      lone: '"\\ud800"',
      polluting: '{"__proto__":{"admin":true}}',
      deep: `${'['.repeat(40)}${']'.repeat(40)}`,
      long: JSON.stringify(Array.from({ length: 1001 }, () => 0)),
      two: '1,2',
      fine: '{"ok":[1]}',
    };
    const listing = JSON.stringify({ session: [...Object.keys(attributes), 'missing'] });
    const session = sessionOf(event({ sessionAttributes: { ...attributes, [JSON_ATTRIBUTES]: listing } }));
    expect(session).toEqual({ ...attributes, fine: { ok: [1] } });
    expect(Object.getPrototypeOf(session)).toBe(Object.prototype);
  });

  it('does not write a listing over its bound: the values come back as strings, and the reply stays within Lex', () => {
    const many = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`${'k'.repeat(80)}${i}`, i]));
    const response = reply({ sessionParameters: many });
    expect(response.sessionState.sessionAttributes).not.toHaveProperty(JSON_ATTRIBUTES);
    expect(readJsonAttributeKeys(response.sessionState.sessionAttributes).session.size).toBe(0);
    expect(sessionOf(nextEvent(response))[`${'k'.repeat(80)}7`]).toBe('7');
  });
});
