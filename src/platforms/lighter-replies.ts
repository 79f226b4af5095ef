import type { FulfillmentResult } from '../fulfillment';

/** A handler's result with parts left out, and what a log line calls those parts. */
export interface LighterReply {
  readonly result: FulfillmentResult;
  readonly without: string;
}

/**
 * The lighter forms of a result, tried in turn when the platform would refuse the full reply, before the error
 * reply. The handler has run, and may have committed (a transfer, a booking): its own text says what happened, where
 * the error reply would tell the user it failed and invite a second try. First the presentation goes (rich messages,
 * the custom payload: the usual cause of a size or card rule broken); then the session values and contexts the reply
 * would set, which the platform then keeps as they were (as it does under the error reply), except for a question
 * (elicit, confirm), whose session values say what it asked. What gives the text its meaning always stays (a
 * prompt's elicit or confirm, a hand-off, a follow-up event or a transition, an end, a delegation, a failure): a
 * reply whose problem is one of those gets the error reply.
 */
export function lighterReplies(result: FulfillmentResult): LighterReply[] {
  const replies: LighterReply[] = [];
  const { messages, payload, ...plain } = result;
  if (messages !== undefined || payload !== undefined) {
    replies.push({ result: plain, without: 'its rich messages and payload' });
  }
  // A question goes with its state or not at all: a confirmation's session values bind the "yes" to what was asked.
  if (result.confirm || result.elicit) return replies;
  const { contexts, sessionParameters, ...stateless } = plain;
  if (contexts !== undefined || sessionParameters !== undefined) {
    replies.push({
      result: stateless,
      without: replies.length > 0 ? 'its rich messages, payload and session values' : 'its session values',
    });
  }
  return replies;
}
