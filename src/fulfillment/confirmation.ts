import { createHash } from 'node:crypto';
import type { ConfirmationState, FulfillmentRequest } from './fulfillment-request';
import type { FulfillmentResult } from './fulfillment-result';

// With the words of the Yes/No buttons offered in each reply language (a bot fills the slot with the one pressed).
const YES = /^(y|yes|yeah|yep|sure|ok|okay|confirm|confirmed|true|ja|sí|si|oui)$/iu;
const NO = /^(n|no|nope|cancel|stop|false|denied|nein|non)$/iu;

/**
 * The session parameter in which a confirmation prompt records what it asked about (a digest, see
 * `confirmationSubject`), so that the answer is taken for that and nothing else.
 */
export const CONFIRMING_PARAMETER = 'confirming';

/**
 * What a handler asks the user to confirm, as a short digest of the values it would act on (customer, accounts,
 * amount, currency…): the same values give the same subject on every replica and every turn.
 */
export function confirmationSubject(...values: readonly (string | number | bigint | boolean)[]): string {
  const canonical = JSON.stringify(values.map((value) => (typeof value === 'bigint' ? `${value}n` : value)));
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 22);
}

/** The answer as given: the platform's own confirmation state (Lex, generic), else a `confirmation` parameter. */
function answerOf(request: Pick<FulfillmentRequest, 'confirmation' | 'parameters'>): ConfirmationState {
  if (request.confirmation !== 'none') return request.confirmation;
  const answer = request.parameters.confirmation;
  // NFC: "Sí" typed with a combining accent is the same word.
  const text =
    typeof answer === 'boolean' ? String(answer) : typeof answer === 'string' ? answer.normalize('NFC').trim() : '';
  return YES.test(text) ? 'confirmed' : NO.test(text) ? 'denied' : 'none';
}

/**
 * The user's answer to a confirmation prompt: the platform's own confirmation state (Lex, generic) when it
 * has one, else a `confirmation` parameter (Dialogflow ES/CX, Rasa), e.g. from a yes/no entity.
 *
 * Given the `subject` the handler is about to act on, an answer counts only when the prompt on record (the
 * `confirming` session parameter its `confirmationPrompt` set) asked about that subject: "yes, but make it 500"
 * changes the amount in the same turn as the "yes", which answered a question about 100. Such a turn is
 * unanswered ('none'), and the handler asks again about what it would now do. With no prompt on record (a
 * platform or bot that does not carry session parameters back, a bot's own confirmation step) the answer counts.
 */
export function confirmationOf(request: FulfillmentRequest, subject?: string): ConfirmationState {
  const answer = answerOf(request);
  if (answer === 'none' || subject === undefined) return answer;
  const asked = request.sessionParameters[CONFIRMING_PARAMETER];
  return typeof asked === 'string' && asked !== '' && asked !== subject ? 'none' : answer;
}

/** A confirmation prompt about `subject`, recording it so that only an answer about the same subject counts. */
export function confirmationPrompt(
  subject: string,
  result: Omit<FulfillmentResult, 'confirm'> & { readonly text: string },
): FulfillmentResult {
  return {
    ...result,
    confirm: true,
    sessionParameters: { ...result.sessionParameters, [CONFIRMING_PARAMETER]: subject },
  };
}

/**
 * A confirmation answers one prompt. When a `confirmation` parameter carries the answer, any reply but that prompt
 * (or the hand-over to fulfillment that acts on it) uses the answer up: a failure, a question for a missing or
 * changed value, and the replies given for the handler (still working, an error, the degraded or unconfirmed
 * text). Platforms that keep the answer as a parameter (Rasa keeps slots until told otherwise) would otherwise
 * carry a "yes" to the next action, or to the same one asked anew. The prompt on record is used up with it, whichever
 * platform gave the answer.
 */
export function usingUpConfirmation(
  request: Pick<FulfillmentRequest, 'confirmation' | 'parameters' | 'sessionParameters'>,
  result: FulfillmentResult,
): FulfillmentResult {
  if (result.confirm || result.delegate) return result;
  const usedUp: string[] = [];
  // A platform's own confirmation state (Lex, generic) is the platform's to reset; a parameter is ours.
  if (request.confirmation === 'none' && answerOf(request) !== 'none') usedUp.push('confirmation');
  if (request.sessionParameters[CONFIRMING_PARAMETER] != null) usedUp.push(CONFIRMING_PARAMETER);
  // What the handler sets itself stands.
  const unset = usedUp.filter((name) => !(result.sessionParameters && name in result.sessionParameters));
  if (unset.length === 0) return result;
  return {
    ...result,
    sessionParameters: { ...result.sessionParameters, ...Object.fromEntries(unset.map((name) => [name, null])) },
  };
}
