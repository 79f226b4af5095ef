import { Injectable, Logger, Optional } from '@nestjs/common';
import type { Span } from '@opentelemetry/api';
import { Deadline } from '../common/deadline';
import { runInWorkScope } from '../common/work-scope';
import { inChildSpan, recordFailure } from '../observability/telemetry';
import { DeferredResults, PENDING_FULFILLMENT_PARAMETER } from './deferred-results';
import type { FulfillmentRequest } from './fulfillment-request';
import type { FulfillmentResult } from './fulfillment-result';
import { FulfillmentOptions } from './fulfillment.options';
import { idempotencyKeyOf } from './idempotency-key';
import { usingUpConfirmation } from './confirmation';
import { operatorText } from './operator-texts';
import { IntentHandlerRegistry, RegisteredHandler } from './intent-handler.registry';
import { PassingFailures } from './passing-failures';
import { loggableErrorText, loggableStack } from '../common/errors/loggable-error';

export type DispatchOutcome = 'fulfilled' | 'fallback' | 'failed' | 'timed-out' | 'delegated';

export interface DispatchResult {
  readonly outcome: DispatchOutcome;
  readonly result: FulfillmentResult;
  readonly handler?: string;
  /** What the handler threw, for a `failed` outcome (e.g. to tell a lost database from a bug). */
  readonly error?: unknown;
  /** For a `timed-out` outcome: the handler's work, still running, whose result came too late to send. */
  readonly late?: Promise<FulfillmentResult>;
}

/** What an adapter produces; the idempotency key is derived from the turn when not given. */
export type DispatchInput = Omit<FulfillmentRequest, 'deadline' | 'signal' | 'idempotencyKey'> & {
  readonly idempotencyKey?: string;
  /** The platform's own id of the turn when `requestId` alone is not it (see `idempotencyKeyOf`). */
  readonly turnKey?: string;
};

export interface DispatchOptions {
  /**
   * Keeps the result of work that outlives the budget, for a later turn or a poll (the async module's store);
   * without it the late work is abandoned at the deadline (a background job has no later turn).
   */
  readonly keepLateWork?: DeferredResults;
  /** The intent's handler, when the caller has looked it up already (null: none); found here otherwise. */
  readonly registered?: RegisteredHandler | null;
}

export class DeadlineExceededError extends Error {
  constructor(budgetMs: number) {
    super(`deadline of ${budgetMs} ms exceeded`);
    this.name = 'DeadlineExceededError';
  }
}

const TIMED_OUT = Symbol('timed-out');
const DEFAULT_LATE_WORK_TIMEOUT_MS = 60_000;

/**
 * Runs the handler for a request within its time budget. The caller always gets a reply: the handler's,
 * a fallback for an unknown intent, a polite apology when the handler fails, or an interim "still working"
 * reply when the budget runs out (so the platform never times out). Work that outlives its budget goes on;
 * its result is kept by `DeferredResults` under the id the interim reply carries.
 */
@Injectable()
export class FulfillmentDispatcher {
  private readonly logger = new Logger(FulfillmentDispatcher.name);

  constructor(
    private readonly registry: IntentHandlerRegistry,
    private readonly options: FulfillmentOptions,
    @Optional() private readonly passing?: PassingFailures,
  ) {}

  /**
   * `deadline`: when the reply is due (a turn's, fixed at its arrival), or a budget from now (a background
   * job's). The handler gets what is left of it.
   */
  async dispatch(
    input: DispatchInput,
    deadline: Deadline | number,
    options: DispatchOptions = {},
  ): Promise<DispatchResult> {
    const due = typeof deadline === 'number' ? Deadline.after(deadline) : deadline;
    const registered =
      options.registered === undefined ? this.registry.find(input.intent) : (options.registered ?? undefined);
    // No span of its own: the turn's span (or the job's) carries the outcome, the handler's span the work.
    return this.run(input, registered, due, options);
  }

  private async run(
    input: DispatchInput,
    registered: RegisteredHandler | undefined,
    deadline: Deadline,
    options: DispatchOptions,
  ): Promise<DispatchResult> {
    if (!registered) {
      this.logger.warn(`No handler for intent "${input.intent}" (request ${input.requestId}); sent the fallback reply`);
      return { outcome: 'fallback', result: { text: operatorText(this.options.fallbackText, input.languageCode) } };
    }

    if (!registered.stages.includes(input.stage)) {
      // e.g. a Lex dialog code hook for a handler that only fulfils: let the platform go on collecting slots.
      return { outcome: 'delegated', result: { text: '', delegate: true }, handler: registered.className };
    }

    const controller = new AbortController();
    const request = handlerRequest(input, deadline, controller.signal);
    const lateMs = this.options.lateWorkTimeoutMs ?? DEFAULT_LATE_WORK_TIMEOUT_MS;
    // The handler's own waits (a pool connection) may outlast the reply: late work is kept for a later turn.
    const scope = { lane: registered.intent, deadline: deadline.extendedBy(lateMs) };
    const work = inChildSpan(`handle ${registered.className}`, (span) =>
      traced(span, registered, () => runInWorkScope(scope, () => registered.handler.handle(request))),
    );
    let timer: NodeJS.Timeout | undefined;
    // The work or the deadline, whichever comes first (one promise, where Promise.race takes four).
    const first = new Promise<FulfillmentResult | typeof TIMED_OUT>((resolve, reject) => {
      timer = setTimeout(resolve, deadline.remainingMs, TIMED_OUT);
      work.then(resolve, reject);
    });

    try {
      const settled = await first;
      if (settled === TIMED_OUT) {
        const { result, kept } = this.interimReply(registered, request, work, deadline, options.keepLateWork);
        this.abortWhenUnused(controller, work, deadline, kept, lateMs);
        return { outcome: 'timed-out', result, handler: registered.className, late: work };
      }
      return { outcome: 'fulfilled', result: settled, handler: registered.className };
    } catch (error: unknown) {
      const cause = this.passing?.causeOf(error);
      const what = `${registered.className} failed on intent "${input.intent}" (request ${input.requestId})`;
      if (cause) this.logger.warn(`${what}: ${cause}`);
      else this.logger.error(`${what}: ${loggableErrorText(error)}`, loggableStack(error));
      return {
        outcome: 'failed',
        // The answer the handler failed on is used up: a "yes" kept (a Rasa slot) would carry over unasked.
        result: usingUpConfirmation(request, {
          text: operatorText(this.options.errorText, input.languageCode),
          failed: true,
        }),
        handler: registered.className,
        error,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Hands the running work to the deferred-result store and tells the platform where to find it. The reply
   * does not wait for the store's write: the budget is spent already.
   */
  private interimReply(
    registered: RegisteredHandler,
    request: FulfillmentRequest,
    work: Promise<FulfillmentResult>,
    deadline: Deadline,
    store: DeferredResults | undefined,
  ): { result: FulfillmentResult; kept: boolean } {
    work.catch((error: unknown) => this.logLateFailure(registered.className, request.requestId, error));
    let pendingId: string | undefined;
    try {
      if (store) pendingId = store.defer(withoutSignal(request), work);
    } catch (error: unknown) {
      this.logger.error(`Could not keep the late result of request ${request.requestId}: ${loggableErrorText(error)}`);
    }
    this.logger.warn(
      `${registered.className} did not answer intent "${request.intent}" within ${deadline.budgetMs} ms ` +
        `(request ${request.requestId}); sent the interim reply${pendingId ? `, result kept as ${pendingId}` : ''}`,
    );
    const text = operatorText(this.options.interimText, request.languageCode);
    // The work acts on the answer given: a "yes" kept (a Rasa slot) would have the turn asked anew act again unasked.
    if (!pendingId) return { result: usingUpConfirmation(request, { text }), kept: false };
    const result = usingUpConfirmation(request, {
      text,
      sessionParameters: { [PENDING_FULFILLMENT_PARAMETER]: pendingId },
    });
    return { result, kept: true };
  }

  /**
   * The signal means "nobody will use the result": at the deadline when the late result is not kept, else
   * after `lateWorkTimeoutMs` more (then the kept result is recorded as failed by whoever awaits `work`).
   */
  private abortWhenUnused(
    controller: AbortController,
    work: Promise<unknown>,
    deadline: Deadline,
    kept: boolean,
    lateMs: number,
  ): void {
    if (!kept) {
      controller.abort(new DeadlineExceededError(deadline.budgetMs));
      return;
    }
    const timer = setTimeout(() => controller.abort(new DeadlineExceededError(deadline.budgetMs + lateMs)), lateMs);
    timer.unref();
    const stop = (): void => clearTimeout(timer);
    work.then(stop, stop);
  }

  private logLateFailure(className: string, requestId: string, error: unknown): void {
    if (error instanceof DeadlineExceededError || (error instanceof Error && error.name === 'AbortError')) return;
    this.logger.error(`${className} failed after its deadline (request ${requestId}): ${loggableErrorText(error)}`);
  }
}

/** The handler's span ends when its work settles, which can be after the dispatch answered (late work). */
function traced(
  span: Span,
  registered: RegisteredHandler,
  handle: () => Promise<FulfillmentResult>,
): Promise<FulfillmentResult> {
  let work: Promise<FulfillmentResult>;
  try {
    // A native promise is returned as it is; a handler that answers without one (plain JavaScript) is wrapped.
    work = Promise.resolve(handle());
  } catch (error: unknown) {
    // A handler that throws before its first await fails like one that rejects, with whatever it threw.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    work = Promise.reject(error);
  }
  // An unrecorded span (tracing off, or a trace not sampled) has nothing to end.
  if (!span.isRecording()) return work;
  span.setAttributes({ 'fulfillment.handler': registered.className, 'fulfillment.intent': registered.intent });
  work.then(
    () => span.end(),
    (error: unknown) => {
      recordFailure(span, error);
      span.end();
    },
  );
  return work;
}

/** How a request's idempotency key is got, on its first read (see `handlerRequest`). */
const KEY_SOURCE = Symbol('idempotency key source');

interface KeyedRequest {
  readonly [KEY_SOURCE]: () => string;
}

function idempotencyKeyGetter(this: KeyedRequest): string {
  return this[KEY_SOURCE]();
}

/**
 * The request a handler gets: the adapter's input with the deadline and the signal, and the idempotency key derived
 * on first read (only the handlers that change state read it, and it costs a SHA-256). Built property by property
 * so that every request has the same hidden class, as V8's inline caches in the handlers need: a getter written in
 * an object literal is a new function each time, and an accessor is part of an object's hidden class; and on Node 20
 * (V8 11.3) an object literal that starts with a spread and adds properties after it gets a hidden class of its own
 * each time once the code is optimised.
 */
function handlerRequest(input: DispatchInput, deadline: Deadline, signal: AbortSignal): FulfillmentRequest {
  const { turnKey, idempotencyKey, ...fields } = input;
  const request = fields as Record<PropertyKey, unknown>;
  request.deadline = deadline.toDate();
  request.signal = signal;
  let key = idempotencyKey;
  const derive = (): string =>
    (key ??= idempotencyKeyOf({ caller: input.caller, platform: input.platform, requestId: input.requestId, turnKey }));
  Object.defineProperty(request, KEY_SOURCE, { value: derive });
  Object.defineProperty(request, 'idempotencyKey', { get: idempotencyKeyGetter, enumerable: true, configurable: true });
  return request as unknown as FulfillmentRequest;
}

function withoutSignal(request: FulfillmentRequest): Omit<FulfillmentRequest, 'signal' | 'deadline'> {
  const { signal, deadline, ...rest } = request;
  return rest;
}
