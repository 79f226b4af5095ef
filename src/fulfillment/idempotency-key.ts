import { createHash } from 'node:crypto';
import type { FulfillmentRequest } from './fulfillment-request';

/** What identifies a turn across its deliveries; `turnKey` is the platform's own turn id (default `requestId`). */
export type TurnKeyInput = Pick<FulfillmentRequest, 'caller' | 'platform' | 'requestId'> & {
  /**
   * The platform's id for the turn, which every retry of that turn repeats, when `requestId` alone is not it
   * (each adapter says; e.g. Lex V2 adds the session and the code hook, CX the webhook tag and stage).
   */
  readonly turnKey?: string;
};

/** The caller-scoped idempotency key of a turn (hex SHA-256): one caller's key never matches another's. */
export function idempotencyKeyOf(input: TurnKeyInput): string {
  return createHash('sha256')
    .update(`${input.caller.id}\n${input.platform}\n${input.turnKey ?? input.requestId}`, 'utf8')
    .digest('hex');
}
