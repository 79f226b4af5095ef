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
    ['events of strings', {}, { events: ['x'] }, ['tracker.events']],
    ['a numeric active loop name', {}, { active_loop: { name: 3 } }, ['tracker.active_loop.name']],
    ['a numeric message text', {}, { latest_message: { text: 3 } }, ['tracker.latest_message.text']],
    [
      'an entity without a name',
      {},
      { latest_message: { entities: [{ value: 'x' }] } },
      ['tracker.latest_message.entities.0.entity'],
    ],
    [
      'a string confidence',
      {},
      { latest_message: { intent: { name: 'a', confidence: 'high' } } },
      ['tracker.latest_message.intent.confidence'],
    ],
    ['string domain slots', { domain: { slots: 'x' } }, {}, ['domain.slots']],
    ['a numeric version', { version: 3 }, {}, ['version']],
  ])('rejects %s', (_label, overrides, tracker, expected) => {
    expect(fields(call(overrides, tracker))).toEqual(expected);
  });
});
