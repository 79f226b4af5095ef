import 'reflect-metadata';

import { plainToInstance } from 'class-transformer';
import type { FulfillmentResult } from '../../fulfillment';
import { RasaActionCall } from './rasa.request';
import { RasaSlotNames, type RasaSlotState, slotEventsOf, slotStateOf } from './rasa.slots';

const DECLARED: RasaSlotState = {
  declared: new Set(['user_id', 'account_type', 'visit_count', 'appointment_date', 'requested_slot']),
  current: { user_id: '12345' },
};
const NO_DOMAIN: RasaSlotState = { current: { user_id: '12345' } };
const NAMES = new RasaSlotNames({ visits: 'visit_count', date: 'appointment_date', cart: 'undeclared_slot' });

const eventsOf = (result: Partial<FulfillmentResult>, state = DECLARED, names = NAMES) =>
  slotEventsOf({ text: 'ok', ...result }, state, names);

describe('slotStateOf', () => {
  const call = (domain: unknown) =>
    plainToInstance(RasaActionCall, {
      next_action: 'a',
      tracker: { sender_id: 's', slots: { user_id: '1', account_type: null } },
      domain,
    });

  it('reads the declared slots from the domain and the current values from the tracker', () => {
    const state = slotStateOf(call({ slots: { user_id: {}, account_type: {} } }));
    expect([...(state.declared ?? [])]).toEqual(['user_id', 'account_type']);
    expect(state.current).toEqual({ user_id: '1', account_type: null });
  });

  it('knows no declared slots when the request has no domain, or a domain without slots', () => {
    expect(slotStateOf(call(undefined)).declared).toBeUndefined();
    expect(slotStateOf(call(null)).declared).toBeUndefined();
    expect(slotStateOf(call({ intents: [] })).declared).toBeUndefined();
    expect([...(slotStateOf(call({ slots: {} })).declared ?? ['x'])]).toEqual([]);
  });
});

describe('RasaSlotNames', () => {
  it('keeps a declared name, else takes the mapped slot if declared, else none', () => {
    expect(NAMES.slotFor('account_type', DECLARED.declared)).toBe('account_type');
    expect(NAMES.slotFor('visits', DECLARED.declared)).toBe('visit_count');
    expect(NAMES.slotFor('cart', DECLARED.declared)).toBeUndefined();
    expect(NAMES.slotFor('obsolete', DECLARED.declared)).toBeUndefined();
  });

  it('prefers a declared name to its mapping', () => {
    expect(new RasaSlotNames({ user_id: 'account_type' }).slotFor('user_id', DECLARED.declared)).toBe('user_id');
  });

  it('without a domain, takes the mapped name, else the name as it is', () => {
    expect(NAMES.slotFor('visits', undefined)).toBe('visit_count');
    expect(NAMES.slotFor('obsolete', undefined)).toBe('obsolete');
  });

  it('does not treat inherited object keys as mapped names', () => {
    expect(new RasaSlotNames({}).slotFor('constructor', DECLARED.declared)).toBeUndefined();
    expect(new RasaSlotNames({}).slotFor('toString', undefined)).toBe('toString');
  });
});

describe('slotEventsOf', () => {
  it('sets only the session values a declared slot takes, and names the others', () => {
    expect(eventsOf({ sessionParameters: { account_type: 'savings', visits: 2, obsolete: null, cart: [1] } })).toEqual({
      events: [
        { event: 'slot', name: 'account_type', value: 'savings' },
        { event: 'slot', name: 'visit_count', value: 2 },
      ],
      dropped: ['obsolete', 'cart'],
    });
  });

  it('sets every session value when the request has no domain (mapped names renamed)', () => {
    expect(eventsOf({ sessionParameters: { visits: 2, obsolete: null } }, NO_DOMAIN)).toEqual({
      events: [
        { event: 'slot', name: 'visit_count', value: 2 },
        { event: 'slot', name: 'obsolete', value: null },
      ],
      dropped: [],
    });
  });

  it('sets declared or mapped, changed context parameters; skips the others silently; session values win', () => {
    const result = {
      contexts: [
        { name: 'info', lifespan: 5, parameters: { user_id: '12345', account_type: 'savings', balance: 5, visits: 1 } },
        { name: 'gone', lifespan: 0, parameters: { account_type: 'checking' } },
        { name: 'form', lifespan: 1, parameters: { requested_slot: 'x' } },
      ],
      sessionParameters: { visits: 4 },
    };
    expect(eventsOf(result)).toEqual({
      events: [
        { event: 'slot', name: 'account_type', value: 'savings' },
        { event: 'slot', name: 'visit_count', value: 4 },
      ],
      dropped: [],
    });
    // Without a domain, nothing tells which context parameters are slots: none is set.
    expect(eventsOf({ contexts: result.contexts }, NO_DOMAIN)).toEqual({ events: [], dropped: [] });
  });

  it('elicits the slot a parameter maps to, resetting an invalid value', () => {
    expect(eventsOf({ elicit: { parameter: 'date', invalid: true } }).events).toEqual([
      { event: 'slot', name: 'appointment_date', value: null },
      { event: 'slot', name: 'requested_slot', value: 'appointment_date' },
    ]);
  });

  it('drops an elicitation no declared slot takes, and requested_slot when the domain lacks it (no forms)', () => {
    expect(eventsOf({ elicit: { parameter: 'colour', invalid: true } })).toEqual({
      events: [],
      dropped: ['colour'],
    });
    const withoutForms: RasaSlotState = { declared: new Set(['appointment_date']), current: {} };
    expect(eventsOf({ elicit: { parameter: 'date' } }, withoutForms)).toEqual({
      events: [],
      dropped: ['requested_slot'],
    });
  });

  it('sets requested_slot when the tracker has it, though the domain Rasa sends (the bot’s own file) does not list it', () => {
    const formsBot: RasaSlotState = {
      declared: new Set(['appointment_date']),
      current: { appointment_date: null, requested_slot: null },
    };
    expect(eventsOf({ elicit: { parameter: 'date' } }, formsBot)).toEqual({
      events: [{ event: 'slot', name: 'requested_slot', value: 'appointment_date' }],
      dropped: [],
    });
  });

  it('names a dropped value once', () => {
    expect(eventsOf({ sessionParameters: { colour: 1 }, elicit: { parameter: 'colour' } }).dropped).toEqual(['colour']);
  });
});
