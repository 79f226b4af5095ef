import { createHash } from 'node:crypto';
import type { FulfillmentRequest } from './fulfillment-request';

type KeyInput = Pick<FulfillmentRequest, 'caller' | 'platform' | 'requestId' | 'sessionId' | 'stage' | 'intent'>;

/**
 * The platform's own id for a turn, which every retry of that turn repeats:
 * Dialogflow ES `responseId`, CX `detectIntentResponseId`, the generic `requestId` / `Idempotency-Key`,
 * Rasa `sender_id:<tracker event count>`, for Lex V2 the session, `originatingRequestId` and the invocation
 * source (Lex calls a dialog and a fulfillment code hook for one request), and for Dialogflow CX the response
 * id with the webhook tag and stage (one CX turn can call several webhooks, e.g. a form parameter's and the
 * form-completion route's).
 */
export function platformTurnKey(input: KeyInput): string {
  if (input.platform === 'lex-v2') return `${input.sessionId}\n${input.requestId}\n${input.stage}`;
  if (input.platform === 'dialogflow-cx') return `${input.requestId}\n${input.intent}\n${input.stage}`;
  return input.requestId;
}

/** The caller-scoped idempotency key of a turn (hex SHA-256): one caller's key never matches another's. */
export function idempotencyKeyOf(input: KeyInput): string {
  return createHash('sha256')
    .update(`${input.caller.id}\n${input.platform}\n${platformTurnKey(input)}`, 'utf8')
    .digest('hex');
}
