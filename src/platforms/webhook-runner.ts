import { Injectable, Logger } from '@nestjs/common';
import { Deadline } from '../common/deadline';
import { AppError } from '../common/errors/app-error';
import { type Refusal, refusalFor, refusals } from '../common/http/http-error.filter';
import type { Platform } from '../common/platform';
import { validateBody } from '../common/validation/validate-body';
import { AppConfig } from '../config';
import { type DispatchOutcome, type FulfillmentResult, operatorText } from '../fulfillment';
import { TurnPipeline } from '../turn/turn-pipeline';
import { ownReply, type RenderedReply, type TurnReply } from '../turn/turn-reply';
import type { AdaptedTurn, PlatformAdapter, WebhookCall } from './platform-adapter';
import { lighterReplies } from './lighter-replies';
import { PlatformAdapters } from './platform-adapters';

/**
 * One webhook call of any platform, for every transport: the platform's adapter validates and translates,
 * the turn pipeline runs the turn within the platform's budget, and the reply is rendered, checked against
 * the platform's rules and serialised once. A reply the platform would refuse is logged and replaced by a lighter
 * form of the handler's reply that it accepts (`lighterReplies`), else by the error reply, so the bot always gets
 * something it can use.
 */
@Injectable()
export class WebhookRunner {
  private readonly logger = new Logger(WebhookRunner.name);

  constructor(
    private readonly adapters: PlatformAdapters,
    private readonly pipeline: TurnPipeline,
    private readonly config: AppConfig,
  ) {}

  /**
   * `budgetMs`: the turn's time from the call's arrival (the platform's configured budget); a transport whose
   * caller set a shorter deadline (gRPC) passes its own.
   */
  async run(
    platform: Platform,
    body: unknown,
    call: WebhookCall,
    budgetMs = this.config.fulfillment.deadlinesMs[platform],
  ): Promise<TurnReply> {
    const deadline = Deadline.after(budgetMs, call.arrivedAt);
    const adapter = this.adapters.get(platform);
    const early = adapter.preflight?.(body, call);
    if (early) return ownReply(early);
    let request: object;
    try {
      request = validateBody(adapter.requestType, body, adapter.requestName);
    } catch (error: unknown) {
      const own = error instanceof AppError ? adapter.rejected?.(error, body, call) : undefined;
      if (own) {
        this.auditOwnRefusal(error as AppError, own.status, call);
        return ownReply(own);
      }
      throw error;
    }
    const turn = adapter.toTurn(request, call);
    const render = (result: FulfillmentResult, outcome: DispatchOutcome): RenderedReply =>
      this.render(adapter, turn, result, outcome, call);
    return this.pipeline.run({ input: turn.input, body, deadline, render });
  }

  /** A refusal answered in the platform's own format (Rasa's) never reaches the error filters: audited here. */
  private auditOwnRefusal(error: AppError, status: number, call: WebhookCall): void {
    const refusal = refusals.hasSubscribers ? refusalFor(error, status, error.code) : undefined;
    if (!refusal) return;
    refusals.publish({
      ...refusal,
      callerId: call.caller.id,
      requestId: call.requestId,
      detail: error.details.map((detail) => detail.field).join(', '),
    } satisfies Refusal);
  }

  private render(
    adapter: PlatformAdapter,
    turn: AdaptedTurn<unknown>,
    result: FulfillmentResult,
    outcome: DispatchOutcome,
    call: WebhookCall,
  ): RenderedReply {
    const { json, problems } = adapter.check(adapter.render(result, outcome, turn));
    if (problems.length === 0) return { status: 200, json };
    const refused =
      `Response for intent "${turn.input.intent}" rejected before sending ` +
      `(request ${call.requestId}, ${adapter.platform} turn ${turn.input.requestId}): ${problems.join('; ')}`;
    for (const lighter of lighterReplies(result)) {
      const checked = adapter.check(adapter.render(lighter.result, outcome, turn));
      if (checked.problems.length === 0) {
        this.logger.error(`${refused}; sent the handler's reply without ${lighter.without}`);
        return { status: 200, json: checked.json };
      }
    }
    this.logger.error(`${refused}; sent the error reply`);
    const text = operatorText(this.config.fulfillment.errorText, turn.input.languageCode);
    const fallback = adapter.render({ text, failed: true }, 'failed', turn);
    return { status: 200, json: adapter.check(fallback).json };
  }
}
