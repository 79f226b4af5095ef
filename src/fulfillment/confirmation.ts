import type { ConfirmationState, FulfillmentRequest } from './fulfillment-request';

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
