import type { Response } from 'express';
import { Body, Get } from '@nestjs/common';
import type { TurnReply } from '../../turn/turn-reply';
import type { WebhookCall } from '../platform-adapter';
import {
  CurrentWebhookCall,
  sendTurnReply,
  WebhookPost,
  WebhookResponse,
  WebhookRoute,
} from '../webhook-route.decorator';
import { WebhookRunner } from '../webhook-runner';
import { RasaAdapter } from './rasa.adapter';

const HEALTHY: TurnReply = { status: 200, json: JSON.stringify({ status: 'ok' }), replayed: false };

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
@WebhookRoute('rasa')
export class RasaController {
  constructor(
    private readonly runner: WebhookRunner,
    private readonly adapter: RasaAdapter,
  ) {}

  /** Runs one custom action: `{events, responses}`, or the SDK's 404/400 error body. */
  @WebhookPost()
  async fulfill(
    @Body() body: unknown,
    @CurrentWebhookCall() call: WebhookCall,
    @WebhookResponse() response: Response,
  ): Promise<void> {
    sendTurnReply(response, await this.runner.run('rasa', body, call));
  }

  @Get('health')
  health(@WebhookResponse() response: Response): void {
    sendTurnReply(response, HEALTHY);
  }

  /** `[{"name": "action_get_account_balance"}, …]` */
  @Get('actions')
  actions(@WebhookResponse() response: Response): void {
    sendTurnReply(response, { status: 200, json: this.adapter.actionList(), replayed: false });
  }
}
