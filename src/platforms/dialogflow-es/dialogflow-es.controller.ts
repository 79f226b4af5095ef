import { Body, Controller, Header, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { CallerAuthGuard } from '../../auth/caller-auth.guard';
import { CurrentCaller } from '../../auth/current-caller.decorator';
import { WebhookPlatform } from '../../auth/webhook-platform.decorator';
import type { RequestContext } from '../../common/http/request-context';
import type { Caller } from '../../fulfillment';
import { DialogflowEsWebhook } from './dialogflow-es.webhook';

@Controller('v1/webhooks/dialogflow-es')
@WebhookPlatform('dialogflow-es')
@UseGuards(CallerAuthGuard)
export class DialogflowEsController {
  constructor(private readonly webhook: DialogflowEsWebhook) {}

  /** Answers with a serialised, size-checked Dialogflow ES `WebhookResponse`. */
  @Post()
  @HttpCode(200)
  @Header('Content-Type', 'application/json; charset=utf-8')
  fulfill(@Body() body: unknown, @CurrentCaller() caller: Caller, @Req() request: RequestContext): Promise<string> {
    return this.webhook.handle(body, caller, request.requestId);
  }
}
