import { Injectable, Logger } from '@nestjs/common';
import { validateBody } from '../../common/validation/validate-body';
import { AppConfig } from '../../config';
import { Caller, FulfillmentDispatcher } from '../../fulfillment';
import { checkResponse, renderResponse, resolveRequestId, toDispatchInput } from './generic.adapter';
import { GenericWebhookRequest } from './generic.request';

/** One generic webhook call: validate, dispatch within the generic budget, render, check. */
@Injectable()
export class GenericWebhook {
  private readonly logger = new Logger(GenericWebhook.name);

  constructor(
    private readonly dispatcher: FulfillmentDispatcher,
    private readonly config: AppConfig,
  ) {}

  /** Returns the serialised generic response, already checked against the size limit. */
  async handle(
    body: unknown,
    caller: Caller,
    httpRequestId: string,
    idempotencyKey: string | string[] | undefined,
  ): Promise<string> {
    const request = validateBody(GenericWebhookRequest, body, 'Generic webhook request');
    const requestId = resolveRequestId(request, idempotencyKey);
    const { deadlinesMs, errorText } = this.config.fulfillment;
    const { outcome, result } = await this.dispatcher.dispatch(
      toDispatchInput(request, caller, requestId),
      deadlinesMs.generic,
    );

    const checked = checkResponse(renderResponse(result, outcome, requestId));
    if (checked.problems.length === 0) return checked.json;
    this.logger.error(
      `Response for intent "${request.intent}" rejected before sending ` +
        `(request ${httpRequestId}, turn ${requestId}): ${checked.problems.join('; ')}`,
    );
    return checkResponse(renderResponse({ text: errorText, failed: true }, 'failed', requestId)).json;
  }
}
