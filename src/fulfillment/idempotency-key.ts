import { createHash } from 'node:crypto';
import type { FulfillmentRequest } from './fulfillment-request';

type KeyInput = Pick<FulfillmentRequest, 'caller' | 'platform' | 'requestId' | 'sessionId' | 'stage'>;

/**
 * The platform's own id for a turn, which every retry of that turn repeats:
 * Dialogflow ES `responseId`, CX `detectIntentResponseId`, the generic `requestId` / `Idempotency-Key`,
 * Rasa `sender_id:<tracker event count>`, and for Lex V2 the session, `originatingRequestId` and the
 * invocation source (Lex calls a dialog and a fulfillment code hook for one request).
 */
export function platformTurnKey(input: KeyInput): string {
  return input.platform === 'lex-v2' ? `${input.sessionId}\n${input.requestId}\n${input.stage}` : input.requestId;
}

/** The caller-scoped idempotency key of a turn (hex SHA-256): one caller's key never matches another's. */
export function idempotencyKeyOf(input: KeyInput): string {
  return createHash('sha256')
    .update(`${input.caller.id}\n${input.platform}\n${platformTurnKey(input)}`, 'utf8')
    .digest('hex');
}
