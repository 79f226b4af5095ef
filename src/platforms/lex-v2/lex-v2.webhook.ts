import { Injectable, Logger } from '@nestjs/common';
import { validateBody } from '../../common/validation/validate-body';
import { AppConfig } from '../../config';
import type { Caller, DispatchOutcome, FulfillmentResult } from '../../fulfillment';
import { TurnPipeline, TurnReply } from '../turn-pipeline';
import { checkResponse, renderResponse, toDispatchInput } from './lex-v2.adapter';
import { LexV2Event } from './lex-v2.request';

/** One Lex V2 code hook call: validate, dispatch within the Lex budget, render, check. */
@Injectable()
export class LexV2Webhook {
  private readonly logger = new Logger(LexV2Webhook.name);

  constructor(
    private readonly pipeline: TurnPipeline,
    private readonly config: AppConfig,
  ) {}

  /**
   * Returns the serialised Lambda response, already checked against Lex's limits. `budgetMs` is the time the
   * handler gets; a transport whose caller set a shorter deadline (gRPC) passes its own.
   */
  async handle(
    body: unknown,
    caller: Caller,
    requestId: string,
    budgetMs = this.config.fulfillment.deadlinesMs['lex-v2'],
  ): Promise<TurnReply> {
    const event = validateBody(LexV2Event, body, 'Lex V2 event');
    const { errorText } = this.config.fulfillment;
    const input = toDispatchInput(event, caller);
    const render = (dispatched: FulfillmentResult, outcome: DispatchOutcome): { status: number; json: string } => {
      // No handler for the intent at a dialog code hook means nothing to validate: let Lex carry on.
      const result: FulfillmentResult =
        outcome === 'fallback' && input.stage === 'dialog' ? { text: '', delegate: true } : dispatched;
      const checked = checkResponse(renderResponse(result, event, input.stage));
      if (checked.problems.length === 0) return { status: 200, json: checked.json };
      this.logger.error(
        `Response for intent "${input.intent}" rejected before sending ` +
          `(request ${requestId}, Lex request ${input.requestId}): ${checked.problems.join('; ')}`,
      );
      return {
        status: 200,
        json: checkResponse(renderResponse({ text: errorText, failed: true }, event, input.stage)).json,
      };
    };
    return this.pipeline.run({ input, body, budgetMs, render });
  }
}
