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

@WebhookRoute('dialogflow-cx')
export class DialogflowCxController {
  constructor(private readonly runner: WebhookRunner) {}

  /** Answers with a serialised, size-checked Dialogflow CX `WebhookResponse`. */
  @WebhookPost()
  async fulfill(
    @Body() body: unknown,
    @CurrentWebhookCall() call: WebhookCall,
    @WebhookResponse() response: Response,
  ): Promise<void> {
    sendTurnReply(response, await this.runner.run('dialogflow-cx', body, call));
  }
}
