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
@WebhookRoute('lex-v2')
export class LexV2Controller {
  constructor(private readonly runner: WebhookRunner) {}

  /** Answers with a serialised, size-checked Lex V2 Lambda response. */
  @WebhookPost()
  async fulfill(
    @Body() body: unknown,
    @CurrentWebhookCall() call: WebhookCall,
    @WebhookResponse() response: Response,
  ): Promise<void> {
    sendTurnReply(response, await this.runner.run('lex-v2', body, call));
  }
}
