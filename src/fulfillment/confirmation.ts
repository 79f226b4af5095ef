import type { ConfirmationState, FulfillmentRequest } from './fulfillment-request';
import type { FulfillmentResult } from './fulfillment-result';

const YES = /^(y|yes|yeah|yep|sure|ok|okay|confirm|confirmed|true)$/i;
const NO = /^(n|no|nope|cancel|stop|false|denied)$/i;

/**
 * The user's answer to a confirmation prompt: the platform's own confirmation state (Lex, generic) when it
 * has one, else a `confirmation` parameter (Dialogflow ES/CX, Rasa), e.g. from a yes/no entity.
 */
export function confirmationOf(request: FulfillmentRequest): ConfirmationState {
  if (request.confirmation !== 'none') return request.confirmation;
  const answer = request.parameters.confirmation;
  const text = typeof answer === 'boolean' ? String(answer) : typeof answer === 'string' ? answer.trim() : '';
  return YES.test(text) ? 'confirmed' : NO.test(text) ? 'denied' : 'none';
}

/**
 * A confirmation answers one prompt. When a `confirmation` parameter carries the answer, any reply but that prompt (or the hand-over to fulfillment that acts on it)
 * uses the answer up: a failure, a question for a missing or changed value. Platforms that keep the answer as a
 * parameter (Rasa keeps slots until told otherwise) would otherwise carry a "yes" to the next, different action.
 */
export function usingUpConfirmation(request: FulfillmentRequest, result: FulfillmentResult): FulfillmentResult {
  // A platform's own confirmation state (Lex, generic) is the platform's to reset; a parameter is ours.
  const answeredByParameter = request.confirmation === 'none' && confirmationOf(request) !== 'none';
  if (result.confirm || result.delegate || !answeredByParameter) return result;
  if (result.sessionParameters && 'confirmation' in result.sessionParameters) return result;
  return { ...result, sessionParameters: { ...result.sessionParameters, confirmation: null } };
}
