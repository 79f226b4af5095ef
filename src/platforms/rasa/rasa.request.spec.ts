import 'reflect-metadata';

import { AppError } from '../../common/errors/app-error';
import { validateBody } from '../../common/validation/validate-body';
import { RasaActionCall } from './rasa.request';

function call(overrides: Record<string, unknown> = {}, tracker: Record<string, unknown> = {}) {
  return {
    next_action: 'action_get_account_balance',
    sender_id: 'user-1',
    tracker: { sender_id: 'user-1', slots: {}, latest_message: {}, events: [], active_loop: {}, ...tracker },
    domain: { slots: {} },
    version: '3.6.20',
    ...overrides,
  };
}

function fields(body: unknown): string[] {
  try {
    validateBody(RasaActionCall, body, 'Rasa action call');
    return [];
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return [...new Set(error.details.map((detail) => detail.field))];
  }
}

describe('RasaActionCall', () => {
  it('accepts a minimal call and the documented empty shapes', () => {
    expect(fields(call())).toEqual([]);
    expect(fields({ next_action: 'a', sender_id: 's', tracker: {} })).toEqual([]);
  });

  it('accepts the nulls Rasa sends for unset values', () => {
    const tracker = {
      slots: { a: null },
      latest_message: { text: null, intent: null, entities: null, metadata: null },
      latest_action_name: null,
      events: null,
      active_loop: { name: null },
      latest_input_channel: null,
      followup_action: null,
      paused: null,
    };
    expect(fields(call({ domain: null, version: null }, tracker))).toEqual([]);
  });

  it('takes the sender id from the tracker when the top level has none', () => {
    expect(fields(call({ sender_id: undefined }))).toEqual([]);
    expect(fields(call({ sender_id: undefined }, { sender_id: undefined }))).toEqual(['sender_id']);
    expect(fields(call({ sender_id: '' }))).toEqual(['sender_id']);
  });

  it('ignores unknown fields at every level', () => {
    const body = call(
      { future: 1, domain: { slots: {}, flows: {}, actions: [{ x: 1 }] } },
      {
        stack: [{ flow_id: 'x' }],
        latest_message: { text: 'hi', commands: [], intent: { name: 'a', id: 3 }, entities: [{ entity: 'e', x: 1 }] },
      },
    );
    expect(fields(body)).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>, string[]]>([
    ['a missing next_action', { next_action: undefined }, {}, ['next_action']],
    ['an empty next_action', { next_action: '' }, {}, ['next_action']],
    ['a numeric next_action', { next_action: 5 }, {}, ['next_action']],
    ['a missing tracker', { tracker: undefined }, {}, ['tracker']],
    ['a string tracker', { tracker: 'x' }, {}, ['tracker']],
    ['array slots', {}, { slots: [] }, ['tracker.slots']],
    ['string events', {}, { events: 'x' }, ['tracker.events']],
    ['a numeric active loop name', {}, { active_loop: { name: 3 } }, ['tracker.active_loop.name']],
    ['a numeric message text', {}, { latest_message: { text: 3 } }, ['tracker.latest_message.text']],
    [
      'an entity without a name',
      {},
      { latest_message: { entities: [{ value: 'x' }] } },
      ['tracker.latest_message.entities.0.entity'],
    ],
    ['a numeric message id', {}, { latest_message: { message_id: 7 } }, ['tracker.latest_message.message_id']],
    ['a string latest event time', {}, { latest_event_time: 'now' }, ['tracker.latest_event_time']],
    ['string domain slots', { domain: { slots: 'x' } }, {}, ['domain.slots']],
    ['a string domain', { domain: 'x' }, {}, ['domain']],
  ])('rejects %s', (_label, overrides, tracker, expected) => {
    expect(fields(call(overrides, tracker))).toEqual(expected);
  });

  // Fields the service does not act on never cause a 400, whatever their shape.
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['a numeric version', { version: 3 }, {}],
    ['an object version', { version: { major: 3 } }, {}],
    ['a string intent', {}, { latest_message: { intent: 'check_balance' } }],
    ['an intent without a name', {}, { latest_message: { intent: { confidence: 0.4 } } }],
    ['a numeric intent name', {}, { latest_message: { intent: { name: 7 } } }],
    ['a string confidence', {}, { latest_message: { intent: { name: 'a', confidence: 'high' } } }],
    ['an array intent', {}, { latest_message: { intent: ['a'] } }],
    ['string metadata', {}, { latest_message: { metadata: 'web' } }],
    ['array metadata', {}, { latest_message: { metadata: [1] } }],
    ['a numeric latest action name', {}, { latest_action_name: 3 }],
    ['an object latest input channel', {}, { latest_input_channel: { name: 'rest' } }],
    ['a string paused', {}, { paused: 'no' }],
    ['a numeric followup action', {}, { followup_action: 1 }],
    ['events of strings and numbers', {}, { events: ['x', 3, null] }],
    ['an event of an unknown kind', {}, { events: [{ event: 'flow_started', flow_id: 'x' }] }],
    ['a user event with a numeric message id', {}, { events: [{ event: 'user', message_id: 5, timestamp: 'x' }] }],
    ['an unknown active loop field', {}, { active_loop: { name: 'form', validate: 'x', rejected: 1 } }],
    ['a domain without slots', { domain: { intents: 'x' } }, {}],
  ])('tolerates %s', (_label, overrides, tracker) => {
    expect(fields(call(overrides, tracker))).toEqual([]);
  });
});
