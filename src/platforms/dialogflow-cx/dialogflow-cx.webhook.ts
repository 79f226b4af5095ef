import { Injectable, Logger } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';
import { validateBody } from '../../common/validation/validate-body';
import { AppConfig } from '../../config';
import type { Caller, FulfillmentResult } from '../../fulfillment';
import { TurnPipeline, TurnReply } from '../turn-pipeline';
import { checkResponse, renderResponse, toDispatchInput, turnOf } from './dialogflow-cx.adapter';
import { DialogflowCxWebhookRequest, routeOf } from './dialogflow-cx.request';

const WHAT = 'Dialogflow CX WebhookRequest';

/** One Dialogflow CX webhook call: validate, dispatch within the CX budget, render, check. */
@Injectable()
export class DialogflowCxWebhook {
  private readonly logger = new Logger(DialogflowCxWebhook.name);

  constructor(
    private readonly pipeline: TurnPipeline,
    private readonly config: AppConfig,
  ) {}

  /**
   * Returns the serialised `WebhookResponse`, already checked against Dialogflow CX's limits. `budgetMs` is the
   * time the handler gets; a transport whose caller set a shorter deadline (gRPC) passes its own.
   */
  async handle(
    body: unknown,
    caller: Caller,
    requestId: string,
    budgetMs = this.config.fulfillment.deadlinesMs['dialogflow-cx'],
  ): Promise<TurnReply> {
    const request = validateBody(DialogflowCxWebhookRequest, body, WHAT);
    const intent = routeOf(request);
    if (!intent) {
      throw new AppError('VALIDATION_FAILED', `${WHAT} is invalid: fulfillmentInfo.tag.`, [
        { field: 'fulfillmentInfo.tag', problem: 'is required when intentInfo.displayName is absent' },
      ]);
    }
    const { errorText } = this.config.fulfillment;
    const turn = turnOf(request);
    const render = (result: FulfillmentResult): { status: number; json: string } => {
      const checked = checkResponse(renderResponse(result, turn));
      if (checked.problems.length === 0) return { status: 200, json: checked.json };
      this.logger.error(
        `Response for "${intent}" rejected before sending ` +
          `(request ${requestId}, response ${request.detectIntentResponseId}): ${checked.problems.join('; ')}`,
      );
      return { status: 200, json: checkResponse(renderResponse({ text: errorText }, turn)).json };
    };
    const input = toDispatchInput(request, caller);
    return this.pipeline.run({ input, body, budgetMs, render });
  }
}
