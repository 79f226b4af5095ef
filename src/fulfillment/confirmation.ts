import { createHash, randomBytes } from 'node:crypto';
import type { ConfirmationState, FulfillmentRequest } from './fulfillment-request';
import type { FulfillmentResult } from './fulfillment-result';

// With the words of the Yes/No buttons offered in each reply language (a bot fills the slot with the one pressed).
const YES = /^(y|yes|yeah|yep|sure|ok|okay|confirm|confirmed|true|ja|sí|si|oui)$/iu;
const NO = /^(n|no|nope|cancel|stop|false|denied|nein|non)$/iu;

/**
 * The session parameter in which a confirmation prompt records what it asked about: the question's subject (a
 * digest, see `confirmationSubject`) and a token of that one question, `<subject>.<token>`. An answer is taken for
 * that subject and nothing else, and the action it confirms is done under the question's own key
 * (`confirmedActionKey`).
 */
export const CONFIRMING_PARAMETER = 'confirming';
/** What `confirming` holds once the user said no: a "yes" after it does not count, as it would with nothing on record. */
export const DECLINED = 'declined';
/** What `confirming` holds once the handler acted on a "yes" (or answered it for good): a later "yes" is asked again. */
export const ANSWERED = 'answered';

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

/** The question on record, if any: `confirming` as the last prompt (or a "no" to it) left it. */
function askedOf(request: Pick<FulfillmentRequest, 'sessionParameters'>): string | undefined {
  const asked = request.sessionParameters[CONFIRMING_PARAMETER];
  return typeof asked === 'string' && asked !== '' ? asked : undefined;
}

/** Whether the question on record asked about `subject` (a prompt of an earlier release recorded the subject alone). */
function askedAbout(asked: string, subject: string): boolean {
  return asked === subject || asked.startsWith(`${subject}.`);
}

/**
 * The user's answer to a confirmation prompt: the platform's own confirmation state (Lex, generic) when it
 * has one, else a `confirmation` parameter (Dialogflow ES/CX, Rasa), e.g. from a yes/no entity.
 *
 * Given the `subject` the handler is about to act on, an answer counts only when the prompt on record (the
 * `confirming` session parameter its `confirmationPrompt` set) asked about that subject: "yes, but make it 500"
 * changes the amount in the same turn as the "yes", which answered a question about 100. Such a turn is
 * unanswered ('none'), and the handler asks again about what it would now do; so is a "yes" after a "no". With no
 * prompt on record (a platform or bot that does not carry session parameters back, a bot's own confirmation step)
 * the answer counts.
 */
export function confirmationOf(request: FulfillmentRequest, subject?: string): ConfirmationState {
  const answer = answerOf(request);
  if (answer === 'none' || subject === undefined) return answer;
  const asked = askedOf(request);
  return asked === undefined || askedAbout(asked, subject) ? answer : 'none';
}

/**
 * The key a confirmed action about `subject` is done under (the unique key of the row it writes): the question's,
 * when the answer came to one of ours about that subject, so that every "yes" to one question acts once: a double
 * tap, a "yes" said again while the first was still working or after it was done, the same answer sent twice.
 * Else the turn's own key. Namespaced by caller: a session's parameters come from the caller.
 */
export function confirmedActionKey(request: FulfillmentRequest, subject: string): string {
  const asked = askedOf(request);
  if (asked === undefined || !asked.startsWith(`${subject}.`)) return request.idempotencyKey;
  return createHash('sha256').update(`${request.caller.id}\nconfirmed\n${asked}`, 'utf8').digest('hex');
}

/**
 * A confirmation prompt about `subject`, recording the question so that only an answer about the same subject counts.
 * A question about the same subject still open on record (its "yes" was answered "still working", an error or the
 * degraded text, and the user asked again as told) is asked again as the same question: its "yes" then finds the
 * action that late work may have done under the question's key, instead of doing it a second time.
 */
export function confirmationPrompt(
  request: Pick<FulfillmentRequest, 'sessionParameters'>,
  subject: string,
  result: Omit<FulfillmentResult, 'confirm'> & { readonly text: string },
): FulfillmentResult {
  const asked = askedOf(request);
  const question = asked?.startsWith(`${subject}.`) ? asked : `${subject}.${randomBytes(9).toString('base64url')}`;
  return {
    ...result,
    confirm: true,
    sessionParameters: { ...result.sessionParameters, [CONFIRMING_PARAMETER]: question },
  };
}

/**
 * A confirmation answers one prompt. When a `confirmation` parameter carries the answer, any reply but that prompt
 * (or the hand-over to fulfillment that acts on it) uses the answer up: a failure, a question for a missing or
 * changed value, and the replies given for the handler (still working, an error, the degraded or unconfirmed
 * text). Platforms that keep the answer as a parameter (Rasa keeps slots until told otherwise) would otherwise
 * carry a "yes" to the next action, or to the same one asked anew. A "no" ends the question on record too
 * (`DECLINED`), whichever platform gave it, and so does the handler's own reply to a "yes" (`settled`: `ANSWERED`):
 * a later "yes", or a new request with the same values and a "yes" in one message, is asked again rather than taken
 * for a question already acted on. Any other reply to a "yes" (still working, an error, the degraded text, work
 * queued) leaves the question on record: the same "yes" said again acts under the question's key
 * (`confirmedActionKey`), once, however many times it comes.
 */
export function usingUpConfirmation(
  request: Pick<FulfillmentRequest, 'confirmation' | 'parameters' | 'sessionParameters'>,
  result: FulfillmentResult,
  settled = false,
): FulfillmentResult {
  if (result.confirm || result.delegate) return result;
  const answer = answerOf(request);
  const asked = askedOf(request);
  const usedUp: Record<string, string | null> = {};
  // A platform's own confirmation state (Lex, generic) is the platform's to reset; a parameter is ours.
  if (request.confirmation === 'none' && answer !== 'none') usedUp.confirmation = null;
  if (asked !== undefined && asked !== DECLINED && asked !== ANSWERED) {
    if (answer === 'denied') usedUp[CONFIRMING_PARAMETER] = DECLINED;
    else if (answer === 'confirmed' && settled) usedUp[CONFIRMING_PARAMETER] = ANSWERED;
  }
  // What the handler sets itself stands.
  const unset = Object.entries(usedUp).filter(
    ([name]) => !(result.sessionParameters && name in result.sessionParameters),
  );
  if (unset.length === 0) return result;
  return { ...result, sessionParameters: { ...result.sessionParameters, ...Object.fromEntries(unset) } };
}
