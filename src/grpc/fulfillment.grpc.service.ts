import type { Deadline } from '@grpc/grpc-js';
import { Injectable } from '@nestjs/common';
import { AppError } from '../common/errors/app-error';
import { DepthError, JsonBodyError, parseJsonBody } from '../common/http/json-body.middleware';
import { AppConfig } from '../config';
import type { GenericWebhookResponse } from '../platforms/generic/generic.response';
import { WebhookRunner } from '../platforms/webhook-runner';
import type { TurnReply } from '../turn/turn-reply';
import {
  asFulfillRequestError,
  FulfillRequestMessage,
  FulfillResponseMessage,
  toFulfillResponse,
  toGenericBody,
} from './fulfill.mapping';
import { callBudgetMs } from './grpc-deadline';
import type { Platform } from '../common/platform';
import type { Caller } from '../common/caller';

/** One authenticated call, as the guards left it. */
export interface GrpcTurnContext {
  readonly caller: Caller;
  readonly platform: Platform;
  readonly requestId: string;
  readonly deadline: Deadline;
  /** `performance.now()` when the call reached the service. */
  readonly arrivedAt: number;
  /** The `idempotency-key` metadata, read like the HTTP header of the same name. */
  readonly idempotencyKey?: string | string[];
  /**
   * The `webhook-id` metadata: a call carrying webhook-* metadata is authenticated by its Standard Webhooks
   * signature or not at all (the strategy order), so this is the id the signature covered.
   */
  readonly webhookId?: string;
  /** The caller signed the relayed bytes: the `idempotency-key` metadata is not covered. */
  readonly bodySigned?: boolean;
}

export interface HandleWebhookRequestMessage {
  platform?: string;
  json?: Buffer;
}

export interface HandleWebhookResponseMessage {
  json: Buffer;
  status: number;
  replayed: boolean;
}

/**
 * The gRPC use cases, on the very runner the HTTP routes use: Fulfill is a generic webhook turn in typed form;
 * HandleWebhook hands a platform's payload to that platform's adapter and returns its bytes.
 */
@Injectable()
export class FulfillmentGrpcService {
  constructor(
    private readonly runner: WebhookRunner,
    private readonly config: AppConfig,
  ) {}

  async fulfill(request: FulfillRequestMessage, context: GrpcTurnContext): Promise<FulfillResponseMessage> {
    const budgetMs = this.budgetMs(context, 'generic');
    try {
      const body = toGenericBody(request, this.config.http.jsonMaxDepth);
      const reply = await this.run('generic', body, context, budgetMs);
      // From the JSON that HTTP sends and a replay returns, not the rendered object: a value with toJSON (a Date)
      // became an empty Struct on a fresh turn and its text on the replay.
      const response = JSON.parse(reply.json) as GenericWebhookResponse;
      return toFulfillResponse(response, reply.replayed);
    } catch (error: unknown) {
      throw error instanceof AppError ? asFulfillRequestError(error) : error;
    }
  }

  async handleWebhook(
    request: HandleWebhookRequestMessage,
    context: GrpcTurnContext,
  ): Promise<HandleWebhookResponseMessage> {
    const budgetMs = this.budgetMs(context, context.platform);
    const body = this.parse(request.json ?? Buffer.alloc(0));
    const reply = await this.run(context.platform, body, context, budgetMs);
    return { json: Buffer.from(reply.json, 'utf8'), status: reply.status, replayed: reply.replayed };
  }

  /** The platform's budget from the call's arrival, or less when the caller's own deadline comes sooner. */
  private budgetMs(context: GrpcTurnContext, platform: Platform): number {
    const arrivedAtWallClock = Date.now() - (performance.now() - context.arrivedAt);
    return callBudgetMs(context.deadline, this.config.fulfillment.deadlinesMs[platform], arrivedAtWallClock);
  }

  private run(platform: Platform, body: unknown, context: GrpcTurnContext, budgetMs: number): Promise<TurnReply> {
    const call = {
      caller: context.caller,
      requestId: context.requestId,
      idempotencyKey: context.idempotencyKey,
      webhookId: context.webhookId,
      bodySigned: context.bodySigned,
      arrivedAt: context.arrivedAt,
    };
    return this.runner.run(platform, body, call, budgetMs);
  }

  /** The JSON body rules of the HTTP endpoints: size limit, depth limit, no prototype keys. */
  private parse(raw: Buffer): unknown {
    const { bodyLimitBytes, jsonMaxDepth } = this.config.http;
    if (raw.length > bodyLimitBytes) {
      throw new AppError('PAYLOAD_TOO_LARGE', `The request body is larger than ${bodyLimitBytes} bytes.`);
    }
    try {
      return parseJsonBody(raw, jsonMaxDepth);
    } catch (error: unknown) {
      // Not UTF-8, a repeated key, a prototype key: said as over HTTP, with the key path.
      if (error instanceof JsonBodyError) throw new AppError('MALFORMED_JSON', error.message, error.details);
      throw new AppError(
        'MALFORMED_JSON',
        error instanceof DepthError
          ? `The request body is nested deeper than ${error.maxDepth} levels.`
          : 'The request body is not valid JSON.',
      );
    }
  }
}
