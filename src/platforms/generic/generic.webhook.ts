import { Injectable, Logger } from '@nestjs/common';
import { validateBody } from '../../common/validation/validate-body';
import { AppConfig } from '../../config';
import type { Caller, DispatchOutcome, FulfillmentResult } from '../../fulfillment';
import { TurnPipeline, TurnReply } from '../turn-pipeline';
import { checkResponse, renderResponse, resolveRequestId, toDispatchInput } from './generic.adapter';
import { GenericWebhookRequest } from './generic.request';

/** One generic webhook call: validate, dispatch within the generic budget, render, check. */
@Injectable()
export class GenericWebhook {
  private readonly logger = new Logger(GenericWebhook.name);

  constructor(
    private readonly pipeline: TurnPipeline,
    private readonly config: AppConfig,
  ) {}

  /**
   * Returns the serialised generic response, already checked against the size limit. `budgetMs` is the time the
   * handler gets; a transport whose caller set a shorter deadline (gRPC) passes its own.
   */
  async handle(
    body: unknown,
    caller: Caller,
    httpRequestId: string,
    idempotencyKey: string | string[] | undefined,
    budgetMs = this.config.fulfillment.deadlinesMs.generic,
  ): Promise<TurnReply> {
    const request = validateBody(GenericWebhookRequest, body, 'Generic webhook request');
    const requestId = resolveRequestId(request, idempotencyKey);
    const { errorText } = this.config.fulfillment;
    const render = (result: FulfillmentResult, outcome: DispatchOutcome): { status: number; json: string } => {
      const checked = checkResponse(renderResponse(result, outcome, requestId));
      if (checked.problems.length === 0) return { status: 200, json: checked.json };
      this.logger.error(
        `Response for intent "${request.intent}" rejected before sending ` +
          `(request ${httpRequestId}, turn ${requestId}): ${checked.problems.join('; ')}`,
      );
      return {
        status: 200,
        json: checkResponse(renderResponse({ text: errorText, failed: true }, 'failed', requestId)).json,
      };
    };
    const input = toDispatchInput(request, caller, requestId);
    return this.pipeline.run({ input, body, budgetMs, render });
  }
}
