import {
  applyDecorators,
  CallHandler,
  Controller,
  createParamDecorator,
  ExecutionContext,
  HttpCode,
  Injectable,
  NestInterceptor,
  Post,
  UseInterceptors,
} from '@nestjs/common';
import type { Response } from 'express';
import { map, type Observable } from 'rxjs';
import { WebhookPlatform } from '../common/platform';
import { AppError } from '../common/errors/app-error';
import { PlatformErrorReply } from '../common/errors/platform-error-reply';
import type { RequestContext } from '../common/http/request-context';
import type { Platform } from '../common/platform';
import { CallerGuards } from '../throttling/caller-guards.decorator';
import type { TurnReply } from '../turn/turn-reply';
import type { WebhookCall } from './platform-adapter';

/**
 * Sends a route's `TurnReply` as it was serialised (once, and checked against the platform's limits); a
 * reply stored by an earlier delivery of the turn is marked `Idempotent-Replayed: true`. A non-200 reply is a
 * refusal in the platform's own format (Rasa's SDK), sent by the error filter exactly as given.
 */
@Injectable()
export class WebhookReplyInterceptor implements NestInterceptor<TurnReply, string> {
  intercept(context: ExecutionContext, next: CallHandler<TurnReply>): Observable<string> {
    const response = context.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      map((reply) => {
        if (reply.status !== 200) throw new PlatformErrorReply(reply.status, reply.json);
        response.setHeader('Content-Type', 'application/json; charset=utf-8');
        if (reply.replayed) response.setHeader('Idempotent-Replayed', 'true');
        return reply.json;
      }),
    );
  }
}

/**
 * A platform's webhook controller at `/v1/webhooks/<platform>`: every route behind the caller's
 * authentication (and the platform check), its rate limit, and the reply interceptor.
 */
export function WebhookRoute(platform: Platform): ClassDecorator {
  return applyDecorators(
    Controller(`v1/webhooks/${platform}`),
    WebhookPlatform(platform),
    CallerGuards(),
    UseInterceptors(WebhookReplyInterceptor),
  );
}

/** The webhook's POST route; its `TurnReply` is sent with status 200 (see `WebhookReplyInterceptor`). */
export function WebhookPost(path?: string): MethodDecorator {
  return applyDecorators(Post(path), HttpCode(200));
}

/** The call as the guards left it: the proven caller, the request id, an `Idempotency-Key`; fails closed. */
export const CurrentWebhookCall = createParamDecorator((_data: unknown, context: ExecutionContext): WebhookCall => {
  const request = context.switchToHttp().getRequest<RequestContext>();
  if (!request.caller) throw new AppError('UNAUTHENTICATED', 'Missing or invalid credentials.');
  return { caller: request.caller, requestId: request.requestId, idempotencyKey: request.headers['idempotency-key'] };
});
