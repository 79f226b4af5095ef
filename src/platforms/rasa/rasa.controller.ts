import type { Response } from 'express';
import { Body } from '@nestjs/common';
import type { WebhookCall } from '../platform-adapter';
import { CurrentWebhookCall, sendTurnReply, WebhookPost, WebhookResponse } from '../webhook-route.decorator';
import { WebhookRunner } from '../webhook-runner';
import { RasaWebhookRoute } from './rasa-route.decorator';

/**
 * The Rasa action server's webhook (the Rasa SDK's `/webhook`). Point Rasa at it in `endpoints.yml`:
 *
 * ```yaml
 * action_endpoint:
 *   url: https://fulfillment.example/v1/webhooks/rasa
 *   headers:
 *     Authorization: Bearer ${RASA_ACTION_TOKEN}
 *   # or Rasa's own setting, sent as ?token=… (kept out of access logs and spans):
 *   # token: ${RASA_ACTION_TOKEN}
 *   # or, for a caller with basic credentials:
 *   # basic_auth: { username: rasa-prod, password: ${RASA_ACTION_PASSWORD} }
 * ```
 *
 * It needs a caller allowed on the `rasa` platform, like every webhook route; the token is one of the caller's
 * static bearer tokens. Errors before the action runs (401, 403, 413, 415, malformed JSON) keep our usual JSON
 * error body; only 404 (unknown action) and 400 (invalid action call) use the Rasa SDK's `{error, action_name}`
 * body. `/health` and `/actions` are served by `RasaSdkController`.
 */
@RasaWebhookRoute()
export class RasaController {
  constructor(private readonly runner: WebhookRunner) {}

  /** Runs one custom action: `{events, responses}`, or the SDK's 404/400 error body. */
  @WebhookPost()
  async fulfill(
    @Body() body: unknown,
    @CurrentWebhookCall() call: WebhookCall,
    @WebhookResponse() response: Response,
  ): Promise<void> {
    sendTurnReply(response, await this.runner.run('rasa', body, call));
  }
}
