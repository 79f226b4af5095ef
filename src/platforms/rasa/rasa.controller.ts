import { Body, Controller, Get, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { CallerAuthGuard } from '../../auth/caller-auth.guard';
import { CurrentCaller } from '../../auth/current-caller.decorator';
import { WebhookPlatform } from '../../auth/webhook-platform.decorator';
import type { RequestContext } from '../../common/http/request-context';
import { sendJson, sendReply } from '../../common/http/send-json';
import type { Caller } from '../../fulfillment';
import { CallerThrottlerGuard } from '../../throttling/caller-throttler.guard';
import { RasaWebhook } from './rasa.webhook';

const HEALTHY = JSON.stringify({ status: 'ok' });

/**
 * The Rasa action server HTTP API (the Rasa SDK's `/webhook`, `/health` and `/actions`). Point Rasa at it in
 * `endpoints.yml`:
 *
 * ```yaml
 * action_endpoint:
 *   url: https://fulfillment.example/v1/webhooks/rasa
 *   headers:
 *     Authorization: Bearer ${RASA_ACTION_TOKEN}
 *   # or, for a caller with basic credentials:
 *   # basic_auth: { username: rasa-prod, password: ${RASA_ACTION_PASSWORD} }
 * ```
 *
 * All three routes need a caller allowed on the `rasa` platform, like every webhook route. Rasa's `token`
 * setting is not supported: it sends the token as a query parameter (`?token=…`), where it ends up in access
 * logs; send it as an `Authorization` header instead. Errors before the action runs (401, 403, 413, 415,
 * malformed JSON) keep our usual JSON error body; only 404 (unknown action) and 400 (invalid action call) use
 * the Rasa SDK's `{error, action_name}` body.
 */
@Controller('v1/webhooks/rasa')
@WebhookPlatform('rasa')
@UseGuards(CallerAuthGuard, CallerThrottlerGuard)
export class RasaController {
  constructor(private readonly webhook: RasaWebhook) {}

  /** Runs one custom action: `{events, responses}`, or the SDK's 404/400 error body. */
  @Post()
  async fulfill(
    @Body() body: unknown,
    @CurrentCaller() caller: Caller,
    @Req() request: RequestContext,
    @Res() response: Response,
  ): Promise<void> {
    sendReply(response, await this.webhook.handle(body, caller, request.requestId));
  }

  @Get('health')
  health(@Res() response: Response): void {
    sendJson(response, 200, HEALTHY);
  }

  /** `[{"name": "action_get_account_balance"}, …]` */
  @Get('actions')
  actions(@Res() response: Response): void {
    sendJson(response, 200, this.webhook.actionList());
  }
}
