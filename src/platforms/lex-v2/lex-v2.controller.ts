import { Body, Controller, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { CallerAuthGuard } from '../../auth/caller-auth.guard';
import { CurrentCaller } from '../../auth/current-caller.decorator';
import { WebhookPlatform } from '../../auth/webhook-platform.decorator';
import type { RequestContext } from '../../common/http/request-context';
import { sendReply } from '../../common/http/send-json';
import type { Caller } from '../../fulfillment';
import { CallerThrottlerGuard } from '../../throttling/caller-throttler.guard';
import { LexV2Webhook } from './lex-v2.webhook';

/**
 * Amazon Lex V2 calls a Lambda function, never a URL, so a small Lambda attached to the bot alias forwards
 * each code hook event here and returns our answer (Node.js 20+, `FULFILLMENT_URL` =
 * `https://<host>/v1/webhooks/lex-v2`, `FULFILLMENT_TOKEN` = the caller's bearer token):
 *
 * ```js
 * export const handler = async (event) => {
 *   const response = await fetch(process.env.FULFILLMENT_URL, {
 *     method: 'POST',
 *     headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${process.env.FULFILLMENT_TOKEN}` },
 *     body: JSON.stringify(event),
 *     signal: AbortSignal.timeout(4000),
 *   });
 *   if (!response.ok) throw new Error(`fulfillment answered HTTP ${response.status}`);
 *   return response.json();
 * };
 * ```
 *
 * A thrown error (non-2xx, timeout) makes Lex use the code hook's failure or timeout response.
 */
@Controller('v1/webhooks/lex-v2')
@WebhookPlatform('lex-v2')
@UseGuards(CallerAuthGuard, CallerThrottlerGuard)
export class LexV2Controller {
  constructor(private readonly webhook: LexV2Webhook) {}

  /** Answers with a serialised, size-checked Lex V2 Lambda response. */
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
