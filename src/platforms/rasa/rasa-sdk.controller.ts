import type { Response } from 'express';
import { Get } from '@nestjs/common';
import type { TurnReply } from '../../turn/turn-reply';
import { sendTurnReply, WebhookResponse } from '../webhook-route.decorator';
import { RasaAdapter } from './rasa.adapter';
import { RasaSdkRoute } from './rasa-route.decorator';

const HEALTHY: TurnReply = { status: 200, json: JSON.stringify({ status: 'ok' }), replayed: false };

/**
 * The Rasa SDK's `GET /health` and `GET /actions`, beside the webhook. They need a caller allowed on the `rasa`
 * platform, unless `RASA_OPEN_ENDPOINTS=true` opens them to anyone, as the SDK serves them.
 */
@RasaSdkRoute()
export class RasaSdkController {
  constructor(private readonly adapter: RasaAdapter) {}

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
