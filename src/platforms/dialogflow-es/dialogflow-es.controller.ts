import { Body, Controller, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { CallerAuthGuard } from '../../auth/caller-auth.guard';
import { CurrentCaller } from '../../auth/current-caller.decorator';
import { WebhookPlatform } from '../../auth/webhook-platform.decorator';
import { CallerThrottlerGuard } from '../../throttling/caller-throttler.guard';
import type { RequestContext } from '../../common/http/request-context';
import { sendReply } from '../../common/http/send-json';
import type { Caller } from '../../fulfillment';
import { DialogflowEsWebhook } from './dialogflow-es.webhook';

@Controller('v1/webhooks/dialogflow-es')
@WebhookPlatform('dialogflow-es')
@UseGuards(CallerAuthGuard, CallerThrottlerGuard)
export class DialogflowEsController {
  constructor(private readonly webhook: DialogflowEsWebhook) {}

  /** Answers with a serialised, size-checked Dialogflow ES `WebhookResponse`. */
  @Post()
  async fulfill(
    @Body() body: unknown,
    @CurrentCaller() caller: Caller,
    @Req() request: RequestContext,
    @Res() response: Response,
  ): Promise<void> {
    sendReply(response, await this.webhook.handle(body, caller, request.requestId));
  }
}
