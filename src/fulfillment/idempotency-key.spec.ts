import type { FulfillmentRequest } from './fulfillment-request';
import { idempotencyKeyOf, platformTurnKey } from './idempotency-key';

type KeyInput = Parameters<typeof idempotencyKeyOf>[0];

const CALLER: FulfillmentRequest['caller'] = { id: 'caller-a', platforms: ['dialogflow-es', 'lex-v2', 'rasa'] };

function turn(overrides: Partial<KeyInput> = {}): KeyInput {
  return {
    caller: CALLER,
    platform: 'dialogflow-es',
    requestId: 'ea3d77e8-ae27-41a4-9e1d-174bd461b68c',
    sessionId: 'projects/p/agent/sessions/s-1',
    stage: 'fulfillment',
    intent: 'TransferFunds',
    ...overrides,
  };
}

function lexTurn(overrides: Partial<KeyInput> = {}): KeyInput {
  return turn({
    platform: 'lex-v2',
    requestId: '17156075-7c1d-4715-8607-171560751715',
    sessionId: 'us-east-1:2f7b9c41-transfer-funds',
    ...overrides,
  });
}

describe('idempotencyKeyOf', () => {
  it('tells apart the webhooks one Dialogflow CX turn calls (tag and stage), but not ES deliveries', () => {
    const cx = turn({ platform: 'dialogflow-cx' });
    expect(idempotencyKeyOf(cx)).toBe(idempotencyKeyOf({ ...cx }));
    expect(idempotencyKeyOf({ ...cx, intent: 'BookAppointment' })).not.toBe(idempotencyKeyOf(cx));
    expect(idempotencyKeyOf({ ...cx, stage: 'dialog' })).not.toBe(idempotencyKeyOf(cx));
    expect(idempotencyKeyOf(turn({ intent: 'Other' }))).toBe(idempotencyKeyOf(turn()));
  });

  it('is a hex SHA-256', () => {
    expect(idempotencyKeyOf(turn())).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is stable: every delivery of a turn (a retry, a duplicate on another replica) gets the same key', () => {
    const key = idempotencyKeyOf(turn());
    expect(idempotencyKeyOf(turn())).toBe(key);
    // Built from equal values, not the same objects.
    expect(idempotencyKeyOf(structuredClone(turn()))).toBe(key);
    expect(idempotencyKeyOf(lexTurn())).toBe(idempotencyKeyOf(structuredClone(lexTurn())));
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
    const mine = idempotencyKeyOf(turn());
    const theirs = idempotencyKeyOf(turn({ caller: { id: 'caller-b', platforms: CALLER.platforms } }));
    expect(theirs).not.toBe(mine);
  });

  it('is scoped per platform: the same id on another platform is another key', () => {
    expect(idempotencyKeyOf(turn({ platform: 'generic' }))).not.toBe(idempotencyKeyOf(turn()));
    expect(idempotencyKeyOf(turn({ platform: 'dialogflow-cx' }))).not.toBe(idempotencyKeyOf(turn()));
  });

  it('differs for every turn id', () => {
    expect(idempotencyKeyOf(turn({ requestId: 'another-response-id' }))).not.toBe(idempotencyKeyOf(turn()));
  });

  describe('Lex V2', () => {
    it('includes the session: the same originatingRequestId in another session is another turn', () => {
      expect(idempotencyKeyOf(lexTurn({ sessionId: 'us-east-1:another-session' }))).not.toBe(
        idempotencyKeyOf(lexTurn()),
      );
    });

    it('includes the stage: the dialog and fulfillment code hooks of one request are two turns', () => {
      const dialog = idempotencyKeyOf(lexTurn({ stage: 'dialog' }));
      const fulfillment = idempotencyKeyOf(lexTurn({ stage: 'fulfillment' }));
      expect(dialog).not.toBe(fulfillment);
      expect(idempotencyKeyOf(lexTurn({ stage: 'dialog' }))).toBe(dialog);
    });

    it('is still scoped per caller', () => {
      expect(idempotencyKeyOf(lexTurn({ caller: { id: 'caller-b', platforms: ['lex-v2'] } }))).not.toBe(
        idempotencyKeyOf(lexTurn()),
      );
    });
  });
});

describe('platformTurnKey', () => {
  it("is the platform's own turn id for ES, Rasa and generic; CX adds the webhook tag and stage", () => {
    for (const platform of ['dialogflow-es', 'rasa', 'generic'] as const) {
      expect(platformTurnKey(turn({ platform, requestId: 'turn-1' }))).toBe('turn-1');
    }
    expect(platformTurnKey(turn({ platform: 'dialogflow-cx', requestId: 'turn-1' }))).toBe(
      'turn-1\nTransferFunds\nfulfillment',
    );
  });

  it('is session, originatingRequestId and stage for Lex V2', () => {
    expect(platformTurnKey(lexTurn({ stage: 'dialog' }))).toBe(
      'us-east-1:2f7b9c41-transfer-funds\n17156075-7c1d-4715-8607-171560751715\ndialog',
    );
  });
});
