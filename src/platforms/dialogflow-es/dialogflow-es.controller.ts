import { Body } from '@nestjs/common';
import type { TurnReply } from '../../turn/turn-reply';
import type { WebhookCall } from '../platform-adapter';
import { CurrentWebhookCall, WebhookPost, WebhookRoute } from '../webhook-route.decorator';
import { WebhookRunner } from '../webhook-runner';

@WebhookRoute('dialogflow-es')
export class DialogflowEsController {
  constructor(private readonly runner: WebhookRunner) {}

  /** Answers with a serialised, size-checked Dialogflow ES `WebhookResponse`. */
  @WebhookPost()
  fulfill(@Body() body: unknown, @CurrentWebhookCall() call: WebhookCall): Promise<TurnReply> {
    return this.runner.run('dialogflow-es', body, call);
  }
}
