import { Injectable, Logger } from '@nestjs/common';
import { validateBody } from '../../common/validation/validate-body';
import { AppConfig } from '../../config';
import { Caller, FulfillmentDispatcher, FulfillmentResult } from '../../fulfillment';
import { checkResponse, renderResponse, toDispatchInput } from './lex-v2.adapter';
import { LexV2Event } from './lex-v2.request';

/** One Lex V2 code hook call: validate, dispatch within the Lex budget, render, check. */
@Injectable()
export class LexV2Webhook {
  private readonly logger = new Logger(LexV2Webhook.name);

  constructor(
    private readonly dispatcher: FulfillmentDispatcher,
    private readonly config: AppConfig,
  ) {}

  /** Returns the serialised Lambda response, already checked against Lex's limits. */
  async handle(body: unknown, caller: Caller, requestId: string): Promise<string> {
    const event = validateBody(LexV2Event, body, 'Lex V2 event');
    const { deadlinesMs, errorText } = this.config.fulfillment;
    const input = toDispatchInput(event, caller);
    const dispatched = await this.dispatcher.dispatch(input, deadlinesMs['lex-v2']);
    // No handler for the intent at a dialog code hook means nothing to validate: let Lex carry on.
    const result: FulfillmentResult =
      dispatched.outcome === 'fallback' && input.stage === 'dialog' ? { text: '', delegate: true } : dispatched.result;

    const checked = checkResponse(renderResponse(result, event, input.stage));
    if (checked.problems.length === 0) return checked.json;
    this.logger.error(
      `Response for intent "${input.intent}" rejected before sending ` +
        `(request ${requestId}, Lex request ${input.requestId}): ${checked.problems.join('; ')}`,
    );
    return checkResponse(renderResponse({ text: errorText, failed: true }, event, input.stage)).json;
  }
}
