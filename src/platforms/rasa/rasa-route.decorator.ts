import { applyDecorators, Controller, UseGuards } from '@nestjs/common';
import { CallerRequired, QueryTokenParameter } from '../../common/caller';
import { WebhookPlatform } from '../../common/platform';
import { CallerThrottlerGuard } from '../../throttling/caller-throttler.guard';
import { WebhookRoute } from '../webhook-route.decorator';
import { RasaSdkRouteGuard } from './rasa-sdk-route.guard';

const PATH = 'v1/webhooks/rasa';

/** Rasa's `action_endpoint.token` arrives as `?token=…`: a caller's static bearer token. */
const RASA_TOKEN = QueryTokenParameter('token');

/** The Rasa webhook (running an action): a webhook route that also takes the caller's token as `?token=`. */
export function RasaWebhookRoute(): ClassDecorator {
  return applyDecorators(WebhookRoute('rasa'), RASA_TOKEN);
}

/**
 * The Rasa SDK's other routes (`/health`, `/actions`): like the webhook, but `RASA_OPEN_ENDPOINTS` can open
 * them (`RasaSdkRouteGuard`); the rate limit stays, shared by every unauthenticated call.
 */
export function RasaSdkRoute(): ClassDecorator {
  return applyDecorators(
    Controller(PATH),
    WebhookPlatform('rasa'),
    RASA_TOKEN,
    CallerRequired(true),
    UseGuards(RasaSdkRouteGuard, CallerThrottlerGuard),
  );
}
