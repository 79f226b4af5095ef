import type { Deadline } from '@grpc/grpc-js';
import { Injectable } from '@nestjs/common';
import { AppError } from '../common/errors/app-error';
import { DepthError, parseJsonBody } from '../common/http/json-body.middleware';
import { AppConfig } from '../config';
import type { Caller, Platform } from '../fulfillment';
import { DialogflowCxWebhook } from '../platforms/dialogflow-cx/dialogflow-cx.webhook';
import { DialogflowEsWebhook } from '../platforms/dialogflow-es/dialogflow-es.webhook';
import { GenericWebhook } from '../platforms/generic/generic.webhook';
import { LexV2Webhook } from '../platforms/lex-v2/lex-v2.webhook';
import { RasaWebhook } from '../platforms/rasa/rasa.webhook';
import {
  asFulfillRequestError,
  FulfillRequestMessage,
  FulfillResponseMessage,
  toFulfillResponse,
  toGenericBody,
} from './fulfill.mapping';
import { callBudgetMs } from './grpc-deadline';

/** One authenticated call, as the guards left it. */
export interface GrpcTurnContext {
  readonly caller: Caller;
  readonly platform: Platform;
  readonly requestId: string;
  readonly deadline: Deadline;
  /** The `idempotency-key` metadata, read like the HTTP header of the same name. */
  readonly idempotencyKey?: string | string[];
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

interface WebhookReply {
  status: number;
  json: string;
  replayed?: boolean;
}

/**
 * The gRPC use cases, on the very services the HTTP controllers call: Fulfill is a generic webhook turn in
 * typed form; HandleWebhook hands a platform's payload to that platform's webhook and returns its bytes.
 */
@Injectable()
export class FulfillmentGrpcService {
  private readonly webhooks: Readonly<
    Record<Platform, (body: unknown, context: GrpcTurnContext, budgetMs: number) => Promise<WebhookReply>>
  >;

  constructor(
    private readonly generic: GenericWebhook,
    dialogflowEs: DialogflowEsWebhook,
    dialogflowCx: DialogflowCxWebhook,
    lexV2: LexV2Webhook,
    rasa: RasaWebhook,
    private readonly config: AppConfig,
  ) {
    this.webhooks = {
      'dialogflow-es': (body, context, budgetMs) =>
        dialogflowEs.handle(body, context.caller, context.requestId, budgetMs),
      'dialogflow-cx': (body, context, budgetMs) =>
        dialogflowCx.handle(body, context.caller, context.requestId, budgetMs),
      'lex-v2': (body, context, budgetMs) => lexV2.handle(body, context.caller, context.requestId, budgetMs),
      rasa: (body, context, budgetMs) => rasa.handle(body, context.caller, context.requestId, budgetMs),
      generic: (body, context, budgetMs) =>
        generic.handle(body, context.caller, context.requestId, context.idempotencyKey, budgetMs),
    };
  }

  async fulfill(request: FulfillRequestMessage, context: GrpcTurnContext): Promise<FulfillResponseMessage> {
    const budgetMs = callBudgetMs(context.deadline, this.config.fulfillment.deadlinesMs.generic);
    try {
      const body = toGenericBody(request, this.config.http.jsonMaxDepth);
      const reply = await this.webhooks.generic(body, context, budgetMs);
      // Parsed back rather than rendered twice: a replayed turn only exists as the stored JSON.
      return toFulfillResponse(reply.json, reply.replayed ?? false);
    } catch (error: unknown) {
      throw error instanceof AppError ? asFulfillRequestError(error) : error;
    }
  }

  async handleWebhook(
    request: HandleWebhookRequestMessage,
    context: GrpcTurnContext,
  ): Promise<HandleWebhookResponseMessage> {
    const budgetMs = callBudgetMs(context.deadline, this.config.fulfillment.deadlinesMs[context.platform]);
    const body = this.parse(request.json ?? Buffer.alloc(0));
    const reply = await this.webhooks[context.platform](body, context, budgetMs);
    return { json: Buffer.from(reply.json, 'utf8'), status: reply.status, replayed: reply.replayed ?? false };
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
      throw new AppError(
        'MALFORMED_JSON',
        error instanceof DepthError
          ? `The request body is nested deeper than ${error.maxDepth} levels.`
          : 'The request body is not valid JSON.',
      );
    }
  }
}
