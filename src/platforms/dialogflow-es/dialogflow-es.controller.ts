import type { Response } from 'express';
import { Body } from '@nestjs/common';
import type { WebhookCall } from '../platform-adapter';
import {
  CurrentWebhookCall,
  sendTurnReply,
  WebhookPost,
  WebhookResponse,
  WebhookRoute,
} from '../webhook-route.decorator';
import { WebhookRunner } from '../webhook-runner';

@WebhookRoute('dialogflow-es')
export class DialogflowEsController {
  constructor(private readonly runner: WebhookRunner) {}

  /** Answers with a serialised, size-checked Dialogflow ES `WebhookResponse`. */
  @WebhookPost()
  async fulfill(
    @Body() body: unknown,
    @CurrentWebhookCall() call: WebhookCall,
    @WebhookResponse() response: Response,
  ): Promise<void> {
    sendTurnReply(response, await this.runner.run('dialogflow-es', body, call));
  }
}
