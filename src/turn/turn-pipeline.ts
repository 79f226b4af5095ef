import { Injectable, Logger, Optional } from '@nestjs/common';
import type { Attributes } from '@opentelemetry/api';
import { AsyncFulfillments } from '../async/async-fulfillments';
import { AppError } from '../common/errors/app-error';
import { AppConfig } from '../config';
import { DatabaseAvailability } from '../database/database-availability';
import {
  DeferredResults,
  DispatchInput,
  DispatchOutcome,
  FulfillmentDispatcher,
  FulfillmentResult,
  idempotencyKeyOf,
  IntentHandlerRegistry,
  RegisteredHandler,
} from '../fulfillment';
import { IdempotencyService } from '../idempotency/idempotency.service';
import { Metrics } from '../observability/metrics';
import type { TurnOutcome } from './turn-outcome';
import { parameterAttributes } from '../observability/redaction';
import { recordFailure, tracer, UNKNOWN_INTENT } from '../observability/telemetry';
import type { RenderedReply, TurnReply } from './turn-reply';

/** Renders a result in the platform's format, already checked against its limits. */
export type RenderTurn = (result: FulfillmentResult, outcome: DispatchOutcome) => RenderedReply;

export interface Turn {
  readonly input: DispatchInput;
  /** The parsed request body, whose hash every retry of the turn must repeat. */
  readonly body: unknown;
  readonly budgetMs: number;
  readonly render: RenderTurn;
}

const DEGRADED_RETRY_AFTER_SECONDS = '5';

/** How the turn ended, for its span and metrics; set as it goes, so also known when it ends in an error. */
interface TurnNote {
  outcome: TurnOutcome;
}

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
    private readonly deferred: DeferredResults,
    private readonly database: DatabaseAvailability,
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  /** Runs the turn in its own span (platform, intent, caller, outcome, replay) and counts it. */
  async run(turn: Turn): Promise<TurnReply> {
    const started = performance.now();
    const registered = this.registry.find(turn.input.intent);
    const intent = registered?.intent ?? UNKNOWN_INTENT;
    return tracer.startActiveSpan(`turn ${intent}`, async (span) => {
      if (span.isRecording()) span.setAttributes(this.turnAttributes(turn.input, intent));
      const note: TurnNote = { outcome: 'error' };
      try {
        const reply = await this.execute(turn, registered, note);
        if (reply.replayed) note.outcome = 'replayed';
        return reply;
      } catch (error: unknown) {
        recordFailure(span, error);
        throw error;
      } finally {
        span.setAttributes({
          'fulfillment.outcome': note.outcome,
          'fulfillment.idempotent_replay': note.outcome === 'replayed',
        });
        span.end();
        this.metrics?.turnFinished(turn.input.platform, intent, note.outcome, (performance.now() - started) / 1000);
      }
    });
  }

  private async execute(turn: Turn, registered: RegisteredHandler | undefined, note: TurnNote): Promise<TurnReply> {
    if (!registered) return this.dispatchOnly(turn, null, note);
    if (!this.database.isAvailable) return this.degraded(turn, note);

    const input = { ...turn.input, idempotencyKey: turn.input.idempotencyKey ?? idempotencyKeyOf(turn.input) };
    const queued = registered.mode === 'async' && input.stage === 'fulfillment';
    if (!queued && !registered.changesState) return this.dispatchOnly({ ...turn, input }, registered, note);

    try {
      return await this.idempotency.execute(
        { callerId: input.caller.id, platform: input.platform, key: input.idempotencyKey, body: turn.body },
        turn.budgetMs,
        async () => {
          if (queued) {
            const accepted = await this.asyncFulfillments.accept(input);
            note.outcome = 'queued';
            return { ...turn.render(accepted, 'fulfilled'), keep: true };
          }
          const dispatched = await this.dispatcher.dispatch(input, turn.budgetMs, {
            registered,
            keepLateWork: this.deferred,
          });
          note.outcome = dispatched.outcome;
          if (dispatched.outcome === 'failed' && this.database.report(dispatched.error)) {
            return { ...this.degradedReply(turn, note), keep: false };
          }
          // A handler that threw is assumed to have rolled back: the key is released so a retry runs again.
          return { ...turn.render(dispatched.result, dispatched.outcome), keep: dispatched.outcome !== 'failed' };
        },
      );
    } catch (error: unknown) {
      if (this.database.report(error)) return this.degraded(turn, note);
      throw error;
    }
  }

  private async dispatchOnly(turn: Turn, registered: RegisteredHandler | null, note: TurnNote): Promise<TurnReply> {
    const dispatched = await this.dispatcher.dispatch(turn.input, turn.budgetMs, {
      registered,
      keepLateWork: this.deferred,
    });
    note.outcome = dispatched.outcome;
    if (dispatched.outcome === 'failed' && this.database.report(dispatched.error)) return this.degraded(turn, note);
    return { ...turn.render(dispatched.result, dispatched.outcome), replayed: false };
  }

  private degraded(turn: Turn, note: TurnNote): TurnReply {
    return { ...this.degradedReply(turn, note), replayed: false };
  }

  private degradedReply(turn: Turn, note: TurnNote): RenderedReply {
    note.outcome = 'degraded';
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

  /** Parameter names only, and the values of allow-listed ones (TRACE_PARAMETER_ALLOWLIST). */
  private turnAttributes(input: Turn['input'], intent: string): Attributes {
    return {
      'fulfillment.platform': input.platform,
      'fulfillment.intent': intent,
      'fulfillment.stage': input.stage,
      'fulfillment.caller_id': input.caller.id,
      ...parameterAttributes(input.parameters, this.config.observability.parameterAllowlist),
    };
  }
}
