import type { FulfillmentRequest } from './fulfillment-request';
import { idempotencyKeyOf, TurnKeyInput } from './idempotency-key';

const CALLER: FulfillmentRequest['caller'] = { id: 'caller-a', platforms: ['dialogflow-es', 'lex-v2', 'rasa'] };

function turn(overrides: Partial<TurnKeyInput> = {}): TurnKeyInput {
  return { caller: CALLER, platform: 'dialogflow-es', requestId: 'ea3d77e8-ae27-41a4-9e1d-174bd461b68c', ...overrides };
}

describe('idempotencyKeyOf', () => {
  it('is a hex SHA-256', () => {
    expect(idempotencyKeyOf(turn())).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is stable: every delivery of a turn (a retry, a duplicate on another replica) gets the same key', () => {
    const key = idempotencyKeyOf(turn());
    expect(idempotencyKeyOf(structuredClone(turn()))).toBe(key);
  });

  it('depends only on the caller, the platform and the turn, not on the rest of the request', () => {
    const request = { ...turn(), intent: 'TransferFunds', parameters: { amount: 5 }, raw: { any: 'thing' } };
    const retried = { ...turn(), intent: 'TransferFunds', parameters: { amount: 7 }, raw: { other: true } };
    expect(idempotencyKeyOf(request)).toBe(idempotencyKeyOf(turn()));
    expect(idempotencyKeyOf(retried)).toBe(idempotencyKeyOf(turn()));
    // The caller's allowed platforms do not identify it.
    expect(idempotencyKeyOf(turn({ caller: { id: CALLER.id, platforms: ['generic'] } }))).toBe(
      idempotencyKeyOf(turn()),
    );
  });

  it('is scoped per caller: the same turn id from another caller is another key', () => {
    const theirs = idempotencyKeyOf(turn({ caller: { id: 'caller-b', platforms: CALLER.platforms } }));
    expect(theirs).not.toBe(idempotencyKeyOf(turn()));
  });

  it('is scoped per platform: the same id on another platform is another key', () => {
    expect(idempotencyKeyOf(turn({ platform: 'generic' }))).not.toBe(idempotencyKeyOf(turn()));
    expect(idempotencyKeyOf(turn({ platform: 'dialogflow-cx' }))).not.toBe(idempotencyKeyOf(turn()));
  });

  it('differs for every turn id, and takes the platform turn key over the request id when there is one', () => {
    expect(idempotencyKeyOf(turn({ requestId: 'another-response-id' }))).not.toBe(idempotencyKeyOf(turn()));
    const keyed = turn({ turnKey: 'session\nrequest\ndialog' });
    expect(idempotencyKeyOf(keyed)).not.toBe(idempotencyKeyOf(turn()));
    expect(idempotencyKeyOf({ ...keyed, requestId: 'other' })).toBe(idempotencyKeyOf(keyed));
  });
});
