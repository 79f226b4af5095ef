import {
  applyDecorators,
  Controller,
  createParamDecorator,
  ExecutionContext,
  HttpCode,
  Post,
  Res,
} from '@nestjs/common';
import type { Response } from 'express';
import { WebhookPlatform } from '../common/platform';
import { AppError } from '../common/errors/app-error';
import { arrivalOf } from '../common/http/arrival';
import type { RequestContext } from '../common/http/request-context';
import { sendJson } from '../common/http/send-json';
import type { Platform } from '../common/platform';
import { CallerGuards } from '../throttling/caller-guards.decorator';
import type { TurnReply } from '../turn/turn-reply';
import type { WebhookCall } from './platform-adapter';

/**
 * Sends a route's `TurnReply` as it was serialised (once, and checked against the platform's limits); a
 * reply stored by an earlier delivery of the turn is marked `Idempotent-Replayed: true`. A non-200 reply is a
 * refusal in the platform's own format (Rasa's SDK), sent exactly as given. Written straight to the response
 * (routes take it with `@WebhookResponse()`): the turn is the hot path, and Nest's interceptor and
 * `res.send()` machinery cost more than the whole rendering.
 */
export function sendTurnReply(response: Response, reply: TurnReply): void {
  if (reply.replayed) response.setHeader('Idempotent-Replayed', 'true');
  sendJson(response, reply.status, reply.json);
}

/** The response a webhook route writes its `TurnReply` to with `sendTurnReply`. */
export const WebhookResponse = (): ParameterDecorator => Res();

/**
 * A platform's webhook controller at `/v1/webhooks/<platform>`: every route behind the caller's
 * authentication (and the platform check), its rate limit, and the reply interceptor.
 */
export function WebhookRoute(platform: Platform): ClassDecorator {
  return applyDecorators(Controller(`v1/webhooks/${platform}`), WebhookPlatform(platform), CallerGuards());
}

/** The webhook's POST route (its `TurnReply` is sent with `sendTurnReply`). */
export function WebhookPost(path?: string): MethodDecorator {
  return applyDecorators(Post(path), HttpCode(200));
}

/** The call as the guards left it: the proven caller, the request id, an `Idempotency-Key`; fails closed. */
export const CurrentWebhookCall = createParamDecorator((_data: unknown, context: ExecutionContext): WebhookCall => {
  const request = context.switchToHttp().getRequest<RequestContext>();
  if (!request.caller) throw new AppError('UNAUTHENTICATED', 'Missing or invalid credentials.');
  return {
    caller: request.caller,
    requestId: request.requestId,
    idempotencyKey: request.headers['idempotency-key'],
    // Over HTTP a request carrying webhook-* headers is authenticated by its Standard Webhooks signature or not
    // at all (the strategy order), so the id is the one the signature covered.
    webhookId: typeof request.headers['webhook-id'] === 'string' ? request.headers['webhook-id'] : undefined,
    bodySigned: request.bodySigned === true,
    arrivedAt: arrivalOf(request),
  };
});
