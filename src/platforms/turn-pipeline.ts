import { Injectable, Logger } from '@nestjs/common';
import { AsyncFulfillments } from '../async/async-fulfillments';
import { AppError } from '../common/errors/app-error';
import { AppConfig } from '../config';
import { DatabaseAvailability } from '../database/database-availability';
import {
  DispatchInput,
  DispatchOutcome,
  FulfillmentDispatcher,
  FulfillmentResult,
  idempotencyKeyOf,
  IntentHandlerRegistry,
} from '../fulfillment';
import { IdempotencyService } from '../idempotency/idempotency.service';

/** Renders a result in the platform's format, already checked against its limits. */
export type RenderTurn = (result: FulfillmentResult, outcome: DispatchOutcome) => { status: number; json: string };

export interface TurnReply {
  readonly status: number;
  readonly json: string;
  /** The stored reply of an earlier delivery of the same turn. */
  readonly replayed: boolean;
}

export interface Turn {
  readonly input: DispatchInput;
  /** The parsed request body, whose hash every retry of the turn must repeat. */
  readonly body: unknown;
  readonly budgetMs: number;
  readonly render: RenderTurn;
}

const DEGRADED_RETRY_AFTER_SECONDS = '5';

/**
 * What happens between a platform adapter and the handler: a lost database answers at once (degraded
 * reply or 503), async handlers are acknowledged and queued, state-changing turns run once however often
 * they are delivered, and everything else goes straight to the dispatcher.
 */
@Injectable()
export class TurnPipeline {
  private readonly logger = new Logger(TurnPipeline.name);

  constructor(
    private readonly dispatcher: FulfillmentDispatcher,
    private readonly registry: IntentHandlerRegistry,
    private readonly idempotency: IdempotencyService,
    private readonly asyncFulfillments: AsyncFulfillments,
    private readonly database: DatabaseAvailability,
    private readonly config: AppConfig,
  ) {}

  async run(turn: Turn): Promise<TurnReply> {
    const registered = this.registry.find(turn.input.intent);
    if (!registered) return this.dispatchOnly(turn);
    if (!this.database.isAvailable) return this.degraded(turn);

    const input = { ...turn.input, idempotencyKey: turn.input.idempotencyKey ?? idempotencyKeyOf(turn.input) };
    const queued = registered.mode === 'async' && input.stage === 'fulfillment';
    if (!queued && !registered.changesState) return this.dispatchOnly({ ...turn, input });

    try {
      return await this.idempotency.execute(
        { callerId: input.caller.id, platform: input.platform, key: input.idempotencyKey, body: turn.body },
        turn.budgetMs,
        async () => {
          if (queued) return { ...turn.render(await this.asyncFulfillments.accept(input), 'fulfilled'), keep: true };
          const dispatched = await this.dispatcher.dispatch(input, turn.budgetMs);
          if (dispatched.outcome === 'failed' && this.database.report(dispatched.error)) {
            return { ...this.degradedReply(turn), keep: false };
          }
          // A handler that threw is assumed to have rolled back: the key is released so a retry runs again.
          return { ...turn.render(dispatched.result, dispatched.outcome), keep: dispatched.outcome !== 'failed' };
        },
      );
    } catch (error: unknown) {
      if (this.database.report(error)) return this.degraded(turn);
      throw error;
    }
  }

  private async dispatchOnly(turn: Turn): Promise<TurnReply> {
    const dispatched = await this.dispatcher.dispatch(turn.input, turn.budgetMs);
    if (dispatched.outcome === 'failed' && this.database.report(dispatched.error)) return this.degraded(turn);
    return { ...turn.render(dispatched.result, dispatched.outcome), replayed: false };
  }

  private degraded(turn: Turn): TurnReply {
    return { ...this.degradedReply(turn), replayed: false };
  }

  private degradedReply(turn: Turn): { status: number; json: string } {
    this.logger.warn(
      `Turn ${turn.input.requestId} (${turn.input.intent}) answered degraded: PostgreSQL is unreachable`,
    );
    if (this.config.degraded.mode === '503') {
      throw new AppError('UNAVAILABLE', 'The service is temporarily unavailable; retry shortly.', [], {
        'Retry-After': DEGRADED_RETRY_AFTER_SECONDS,
      });
    }
    return turn.render({ text: this.config.degraded.text, failed: true }, 'failed');
  }
}
