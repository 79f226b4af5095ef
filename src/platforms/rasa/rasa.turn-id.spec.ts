import 'reflect-metadata';

import { plainToInstance } from 'class-transformer';
import { RasaActionCall } from './rasa.request';
import { rasaTurnIdOf } from './rasa.turn-id';

type Json = Record<string, unknown>;

const user = (id: string | undefined, timestamp: number, text = 'hi'): Json => ({
  event: 'user',
  timestamp,
  text,
  ...(id !== undefined && { message_id: id }),
});
const action = (name: string, timestamp: number): Json => ({ event: 'action', name, timestamp });
const slot = (name: string, timestamp: number): Json => ({ event: 'slot', name, value: 1, timestamp });

function call(events: unknown[] | undefined, latest: Json = {}, extra: Json = {}): RasaActionCall {
  return plainToInstance(RasaActionCall, {
    next_action: 'action_transfer_funds',
    sender_id: 'user-1',
    tracker: { sender_id: 'user-1', events, latest_message: latest },
    ...extra,
  });
}

const idOf = (body: RasaActionCall, stage: 'dialog' | 'fulfillment' = 'fulfillment') =>
  rasaTurnIdOf(body, 'user-1', stage);

describe('rasaTurnIdOf', () => {
  it('names the user message the call answers and the events since', () => {
    const events = [action('action_listen', 1), user('m-1', 2), slot('a', 3)];
    expect(idOf(call(events, { message_id: 'm-1', text: 'hi' })).requestId).toBe('user-1:m-1:1');
    // Events stripped: the latest message still names the message.
    expect(idOf(call([], { message_id: 'm-1' })).requestId).toBe('user-1:m-1:0');
    // No message id: the user event's timestamp.
    expect(idOf(call([user(undefined, 1750768496.21), slot('a', 3)])).requestId).toBe('user-1:1750768496.21:1');
    // No user message at all: the event count, as before.
    expect(idOf(call([action('action_listen', 1), slot('a', 2)])).requestId).toBe('user-1:2');
    expect(idOf(call(undefined)).requestId).toBe('user-1:0');
  });

  it('gives a retry (the same body) the same key', () => {
    const events = [action('action_listen', 1), user('m-1', 2), slot('a', 3)];
    const first = idOf(call(structuredClone(events), { message_id: 'm-1', text: 'hi' }));
    const retry = idOf(call(structuredClone(events), { message_id: 'm-1', text: 'hi' }));
    expect(retry).toEqual(first);
  });

  it('tells apart two turns with as many events, when Rasa caps the tracker (max_events)', () => {
    // The window slides: both calls carry three events, the second after another user message.
    const first = call([action('action_listen', 1), user('m-1', 2), slot('a', 3)], { message_id: 'm-1' });
    const second = call([slot('a', 3), action('action_listen', 4), user('m-2', 5)], { message_id: 'm-2' });
    expect(idOf(first).turnKey).not.toBe(idOf(second).turnKey);
    expect(idOf(first).requestId).not.toBe(idOf(second).requestId);
  });

  it('tells apart two turns when the events are stripped, by the message id', () => {
    expect(idOf(call([], { message_id: 'm-1' })).turnKey).not.toBe(idOf(call([], { message_id: 'm-2' })).turnKey);
  });

  it('tells apart two turns without message ids, by the user event timestamp', () => {
    const first = call([action('action_listen', 1), user(undefined, 2), slot('a', 3)]);
    const second = call([action('action_listen', 4), user(undefined, 5), slot('a', 6)]);
    expect(idOf(first).turnKey).not.toBe(idOf(second).turnKey);
  });

  it('tells apart two turns without ids or timestamps, by the latest message text', () => {
    const events = [{ event: 'user' }, { event: 'slot' }];
    expect(idOf(call(events, { text: 'yes' })).turnKey).not.toBe(idOf(call(events, { text: 'no' })).turnKey);
  });

  it('tells apart two actions after one user message, and the same action run twice in one turn', () => {
    const events = [action('action_listen', 1), user('m-1', 2)];
    const latest = { message_id: 'm-1' };
    const first = call(events, latest);
    const otherAction = call(events, latest, { next_action: 'action_get_account_balance' });
    const again = call([...events, action('action_transfer_funds', 3)], latest);
    // Capped: as many events as the first call, but a later one last.
    const againCapped = call([user('m-1', 2), action('action_transfer_funds', 3)], latest);
    const keys = [first, otherAction, again, againCapped].map((body) => idOf(body).turnKey);
    expect(new Set(keys).size).toBe(4);
  });

  it('tells the stages apart', () => {
    const body = call([user('m-1', 2)], { message_id: 'm-1' });
    expect(idOf(body, 'dialog').turnKey).not.toBe(idOf(body, 'fulfillment').turnKey);
  });

  it('prefers the tracker’s latest_event_time, else the last event’s timestamp', () => {
    const events = [user(undefined, 2)];
    expect(idOf(call(events)).turnKey).toContain('"latestEventTime":2');
    const withTime = plainToInstance(RasaActionCall, {
      next_action: 'a',
      tracker: { sender_id: 'user-1', events, latest_event_time: 9 },
    });
    expect(idOf(withTime).turnKey).toContain('"latestEventTime":9');
  });

  it('reads events of other shapes without failing', () => {
    const body = call(['x', null, 3, { event: 'user', message_id: 5, timestamp: 'late' }]);
    expect(idOf(body).requestId).toBe('user-1:4');
  });
});
