import { randomUUID } from 'node:crypto';
import { Injectable, Logger, Optional } from '@nestjs/common';
import { type Attributes, TraceFlags } from '@opentelemetry/api';
import { AsyncFulfillments } from '../async/async-fulfillments';
import { Deadline, DeadlineReachedError } from '../common/deadline';
import { withProperties } from '../common/objects';
import { WorkInFlight } from '../common/work-in-flight';
import { runInBackground, runInWorkScope } from '../common/work-scope';
import { AppConfig } from '../config';
import type { Unavailable } from '../database/connection-errors';
import { mayHaveCommitted, UNREACHABLE } from '../database/connection-errors';
import { DatabaseAvailability } from '../database/database-availability';
import { unavailableAnswer } from '../database/unavailable-answer';
import { PoolWaitTimeoutError } from '../database/pool-gate';
import {
  DeferredResults,
  DispatchInput,
  DispatchOutcome,
  FulfillmentDispatcher,
  FulfillmentResult,
  idempotencyKeyOf,
  IntentHandlerRegistry,
  RegisteredHandler,
  runsAsJob,
  operatorText,
  PENDING_FULFILLMENT_PARAMETER,
  usingUpConfirmation,
} from '../fulfillment';
import { IdempotencyService, type TurnResponse, turnResponse } from '../idempotency/idempotency.service';
import { isErrorOutcome, Metrics } from '../observability/metrics';
import { TurnJournal } from '../observability/turn-journal';
import { isIdempotencyConflict, type TurnOutcome } from './turn-outcome';
import { parameterAttributes } from '../observability/redaction';
import { inChildSpan, markFailed, recordFailure, UNKNOWN_INTENT } from '../observability/telemetry';
import { ownReply, type RenderedReply, type TurnReply } from './turn-reply';

/** Renders a result in the platform's format, already checked against its limits. */
export type RenderTurn = (result: FulfillmentResult, outcome: DispatchOutcome) => RenderedReply;

export interface Turn {
  readonly input: DispatchInput;
  /** The parsed request body, whose hash every retry of the turn must repeat. */
  readonly body: unknown;
  /** When the reply is due: the platform's budget from the moment the request arrived. */
  readonly deadline: Deadline;
  readonly render: RenderTurn;
}

/** How the turn ended, for its span and metrics; set as it goes, so also known when it ends in an error. */
interface TurnNote {
  outcome: TurnOutcome;
}

/**
 * What happens between a platform adapter and the handler: a lost database answers at once (degraded
 * reply or 503), async handlers are acknowledged and queued, state-changing turns run once however often
 * they are delivered, and everything else goes straight to the dispatcher. Every step spends the turn's
 * deadline (fixed when the request arrived): a database the turn cannot reach in time (the pool is busy)
 * gets the busy reply, never a late one, and is not taken for a database that is down.
 */
@Injectable()
export class TurnPipeline {
  private readonly logger = new Logger(TurnPipeline.name);
  private readonly running = new WorkInFlight();

  constructor(
    private readonly dispatcher: FulfillmentDispatcher,
    private readonly registry: IntentHandlerRegistry,
    private readonly idempotency: IdempotencyService,
    private readonly asyncFulfillments: AsyncFulfillments,
    private readonly deferred: DeferredResults,
    private readonly database: DatabaseAvailability,
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: Metrics,
    @Optional() private readonly journal?: TurnJournal,
  ) {}

  /**
   * Resolves once every turn running has finished and stored its reply, also those whose caller has gone (a platform
   * that gave up, a client that disconnected), or after `timeoutMs`, with the number still running or storing then.
   * On shutdown, before the pools close: a turn cut there would leave its claim held, and a retry would wait it out.
   */
  async turnsFinished(timeoutMs: number): Promise<number> {
    const until = Date.now() + timeoutMs;
    const running = await this.running.settled(timeoutMs);
    return running + (await this.idempotency.responsesStored(until - Date.now()));
  }

  /** Runs the turn in its own span (platform, intent, caller, outcome, replay) and counts it. */
  async run(turn: Turn): Promise<TurnReply> {
    const registered = this.registry.find(turn.input.intent);
    const intent = registered?.intent ?? UNKNOWN_INTENT;
    return inChildSpan(`turn ${intent}`, async (span) => {
      this.running.started();
      if (span.isRecording()) span.setAttributes(this.turnAttributes(turn.input, intent));
      const note: TurnNote = { outcome: 'error' };
      let reply: TurnReply | undefined;
      try {
        // Database connections are shared out by intent and waited for only until the turn's deadline.
        const scope = { lane: intent, deadline: turn.deadline };
        reply = await runInWorkScope(scope, () => this.execute(turn, registered, note));
        if (reply.replayed) note.outcome = 'replayed';
        // Answered, but not as asked (timed out, busy, degraded, failed): an error in the trace as in the metrics.
        if (isErrorOutcome(note.outcome)) markFailed(span, note.outcome);
        return reply;
      } catch (error: unknown) {
        if (isIdempotencyConflict(error)) note.outcome = 'conflict';
        else recordFailure(span, error);
        throw error;
      } finally {
        this.running.finished();
        if (span.isRecording()) {
          span.setAttributes({
            'fulfillment.outcome': note.outcome,
            'fulfillment.idempotent_replay': note.outcome === 'replayed',
          });
        }
        span.end();
        // From the request's arrival, as the platform waits: its body, authentication and rate limit included.
        const durationMs = turn.deadline.elapsedMs;
        this.metrics?.turnFinished(turn.input.platform, intent, note.outcome, durationMs / 1000);
        if (this.journal?.listened) {
          // A trace id only when the trace was sampled: a link to a trace the backend never received helps no one.
          const context = span.spanContext();
          this.journal.record({
            at: Date.now(),
            requestId: turn.input.requestId,
            traceId: context.traceFlags & TraceFlags.SAMPLED ? context.traceId : undefined,
            platform: turn.input.platform,
            intent,
            callerId: turn.input.caller.id,
            outcome: note.outcome,
            durationMs,
            budgetMs: turn.deadline.budgetMs,
            ...(this.journal.wantsBodies(turn.input.platform, turn.input.caller.id) && { request: turn.body, reply }),
          });
        }
      }
    });
  }

  private async execute(turn: Turn, registered: RegisteredHandler | undefined, note: TurnNote): Promise<TurnReply> {
    if (!registered) return this.dispatchOnly(turn, null, note);
    if (!this.database.isAvailable) return this.refused(turn, note, { outcome: 'degraded', why: UNREACHABLE });

    const queued = runsAsJob(registered, turn.input.stage);
    // A read-only turn is not recorded, so it needs no key here (the dispatcher derives one if it is read).
    if (!queued && !registered.changesState) return this.dispatchOnly(turn, registered, note);
    const input = withProperties(turn.input, {
      idempotencyKey: turn.input.idempotencyKey ?? idempotencyKeyOf(turn.input),
    });
    // The handler answered: what it wrote is committed, whatever happens to its reply after that.
    let handlerAnswered = false;

    try {
      return await this.idempotency.execute(
        { callerId: input.caller.id, platform: input.platform, key: input.idempotencyKey, body: turn.body },
        turn.deadline,
        async () => {
          if (queued) return this.accept(turn, input, note);
          const dispatched = await this.dispatcher.dispatch(input, turn.deadline, {
            registered,
            keepLateWork: this.deferred,
          });
          note.outcome = dispatched.outcome;
          const refusal = dispatched.outcome === 'failed' ? this.database.report(dispatched.error) : undefined;
          if (refusal) {
            const unconfirmed = mayHaveCommitted(dispatched.error);
            return turnResponse(this.unavailable(turn, note, refusal, unconfirmed), false);
          }
          handlerAnswered = dispatched.outcome !== 'failed';
          // A handler that threw is assumed to have rolled back: the key is released so a retry runs again.
          const reply = turn.render(dispatched.result, dispatched.outcome);
          const keep = dispatched.outcome !== 'failed';
          if (!dispatched.late) return turnResponse(reply, keep);
          // Too slow: "still working" now; a retry of the turn gets the real outcome once the work finishes
          // (or runs again, if the work failed).
          const later = dispatched.late.then(
            (result) => turn.render(result, 'fulfilled'),
            () => undefined,
          );
          return turnResponse(reply, keep, later);
        },
      );
    } catch (error: unknown) {
      // Its reply could not be stored: the handler's writes stand, so the user is not told to try again. Nor when
      // the queueing of an async turn may have committed: its job runs (files the statement, calls back).
      const unconfirmed = handlerAnswered || (queued && registered.changesState && mayHaveCommitted(error));
      if (error instanceof DeadlineReachedError || error instanceof PoolWaitTimeoutError) {
        return this.busy(turn, note, error, unconfirmed);
      }
      const refusal = this.database.report(error);
      if (refusal) return this.refused(turn, note, refusal, unconfirmed);
      throw error;
    }
  }

  /**
   * Queues an async turn. The reply never waits past the deadline: when the queueing is slower, the turn is
   * answered "still working", with the id the fulfillment is being queued under (to poll, or for the platform to
   * ask after it), and retries get the acknowledgement once the queueing has finished.
   */
  private async accept(turn: Turn, input: DispatchInput, note: TurnNote): Promise<TurnResponse> {
    note.outcome = 'queued';
    const fulfillmentId = randomUUID();
    // The job acts on the answer given: "still working" and "got it" use it up like the handler's own reply would.
    const accepting = runInBackground(() =>
      this.asyncFulfillments
        .accept(input, fulfillmentId)
        .then((accepted) => turn.render(usingUpConfirmation(input, accepted), 'fulfilled')),
    );
    try {
      const accepted = await turn.deadline.race(accepting, () => new DeadlineReachedError('queueing the turn'));
      return turnResponse(accepted, true);
    } catch (error: unknown) {
      if (!(error instanceof DeadlineReachedError)) throw error;
      note.outcome = 'timed-out';
      const later = accepting.catch(() => undefined);
      const interim = turn.render(
        usingUpConfirmation(input, {
          text: operatorText(this.config.fulfillment.interimText, turn.input.languageCode),
          sessionParameters: { [PENDING_FULFILLMENT_PARAMETER]: fulfillmentId },
        }),
        'timed-out',
      );
      return turnResponse(interim, true, later);
    }
  }

  private async dispatchOnly(turn: Turn, registered: RegisteredHandler | null, note: TurnNote): Promise<TurnReply> {
    const dispatched = await this.dispatcher.dispatch(turn.input, turn.deadline, {
      registered,
      keepLateWork: this.deferred,
    });
    note.outcome = dispatched.outcome;
    const refusal = dispatched.outcome === 'failed' ? this.database.report(dispatched.error) : undefined;
    if (refusal) return this.refused(turn, note, refusal);
    return ownReply(turn.render(dispatched.result, dispatched.outcome));
  }

  /**
   * The turn could not get to the database within its deadline (the pool is busy, a step was slow): nothing
   * ran, so a retry runs the turn. Answered like an outage, without declaring one; the log names the step
   * (`claiming the turn: the turn's deadline was reached`) or the pool's lane that kept it waiting.
   */
  private busy(
    turn: Turn,
    note: TurnNote,
    cause: DeadlineReachedError | PoolWaitTimeoutError,
    unconfirmed = false,
  ): TurnReply {
    return this.refused(turn, note, { outcome: 'busy', why: cause.message }, unconfirmed);
  }

  private refused(turn: Turn, note: TurnNote, refusal: Unavailable, unconfirmed = false): TurnReply {
    return ownReply(this.unavailable(turn, note, refusal, unconfirmed));
  }

  /**
   * The degraded reply (DEGRADED_TEXT), or 503 with Retry-After when DEGRADED_MODE=503. A state-changing turn
   * whose write may have committed (`unconfirmed`) says so (UNCONFIRMED_TEXT) instead of "try again", in either
   * mode: the platforms do not retry a turn, so after "try again" (or the bot's own error reply to a 503) the user
   * would ask anew, a new turn that moves the money a second time.
   */
  private unavailable(turn: Turn, note: TurnNote, { outcome, why }: Unavailable, unconfirmed = false): RenderedReply {
    note.outcome = outcome;
    const written = unconfirmed ? ' (what it wrote may have committed)' : '';
    this.logger.warn(`Turn ${turn.input.requestId} (${turn.input.intent}) answered ${outcome}${written}: ${why}`);
    if (this.config.degraded.mode === '503' && !unconfirmed) {
      throw unavailableAnswer();
    }
    const text = unconfirmed ? this.config.degraded.unconfirmedText : this.config.degraded.text;
    // A "yes" kept (a Rasa slot) would have the turn asked anew act unasked, perhaps a second time.
    const reply = usingUpConfirmation(turn.input, { text: operatorText(text, turn.input.languageCode), failed: true });
    return turn.render(reply, 'failed');
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
