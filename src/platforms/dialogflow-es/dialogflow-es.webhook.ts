import { Injectable, Logger } from '@nestjs/common';
import { validateBody } from '../../common/validation/validate-body';
import { AppConfig } from '../../config';
import type { Caller, FulfillmentResult } from '../../fulfillment';
import { TurnPipeline, TurnReply } from '../turn-pipeline';
import { checkResponse, renderResponse, toDispatchInput } from './dialogflow-es.adapter';
import { DialogflowEsWebhookRequest } from './dialogflow-es.request';

/** One Dialogflow ES webhook call: validate, dispatch within the ES budget, render, check. */
@Injectable()
export class DialogflowEsWebhook {
  private readonly logger = new Logger(DialogflowEsWebhook.name);

  constructor(
    private readonly pipeline: TurnPipeline,
    private readonly config: AppConfig,
  ) {}

  /**
   * Returns the serialised `WebhookResponse`, already checked against Dialogflow's limits. `budgetMs` is the
   * time the handler gets; a transport whose caller set a shorter deadline (gRPC) passes its own.
   */
  async handle(
    body: unknown,
    caller: Caller,
    requestId: string,
    budgetMs = this.config.fulfillment.deadlinesMs['dialogflow-es'],
  ): Promise<TurnReply> {
    const request = validateBody(DialogflowEsWebhookRequest, body, 'Dialogflow ES WebhookRequest');
    const { responseSource, errorText } = this.config.fulfillment;
    const input = toDispatchInput(request, caller);
    const render = (result: FulfillmentResult): { status: number; json: string } => {
      const checked = checkResponse(renderResponse(result, request.session, responseSource, input.sessionParameters));
      if (checked.problems.length === 0) return { status: 200, json: checked.json };
      this.logger.error(
        `Response for intent "${request.queryResult.intent.displayName}" rejected before sending ` +
          `(request ${requestId}, response ${request.responseId}): ${checked.problems.join('; ')}`,
      );
      return {
        status: 200,
        json: checkResponse(renderResponse({ text: errorText }, request.session, responseSource)).json,
      };
    };
    return this.pipeline.run({ input, body, budgetMs, render });
  }
}
