import 'reflect-metadata';

import { Global, Logger, Module } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import {
  DeadlineExceededError,
  DeferredResults,
  DispatchInput,
  FulfillmentDispatcher,
  FulfillmentHandler,
  FulfillmentModule,
  FulfillmentOptions,
  FulfillmentRequest,
  FulfillmentResult,
  idempotencyKeyOf,
  IntentHandler,
  PassingFailures,
  PENDING_FULFILLMENT_PARAMETER,
} from '.';
import { DatabaseError } from 'pg';
import { Deadline } from '../common/deadline';
import { sameHiddenClass } from '../common/testing/hidden-class';
import { currentWorkScope, type WorkScope } from '../common/work-scope';

const OPTIONS = { fallbackText: 'f', errorText: 'e', interimText: 'i' };
const BUDGET_MS = 50;

/** A promise the test settles by hand. */
class Deferred<T> {
  resolve!: (value: T) => void;
  reject!: (reason: unknown) => void;
  readonly promise = new Promise<T>((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });
}

/** Lets pending callbacks, microtasks and rejection tracking run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

@IntentHandler('Echo')
class EchoHandler implements FulfillmentHandler {
  seen?: { request: FulfillmentRequest; abortedDuringHandle: boolean; calledAt: number };

  handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    this.seen = { request, abortedDuringHandle: request.signal.aborted, calledAt: Date.now() };
    return Promise.resolve({
      text: `echo ${request.intent}`,
      messages: [{ type: 'quick-replies', replies: ['a', 'b'] }],
      contexts: [{ name: 'echo', lifespan: 2 }],
      source: 'echo-backend',
    });
  }
}

/** Plain JavaScript that ignores the interface's promise: answers with the result itself. */
@IntentHandler('PlainValue')
class PlainValueHandler {
  handle(): FulfillmentResult {
    return { text: 'plain' };
  }
}

@IntentHandler('ThrowSync')
class ThrowSyncHandler implements FulfillmentHandler {
  handle(): Promise<FulfillmentResult> {
    throw new Error('sync failure: core banking password=hunter2');
  }
}

@IntentHandler('Reject')
class RejectHandler implements FulfillmentHandler {
  reason: unknown = new Error('async failure');

  handle(): Promise<FulfillmentResult> {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- non-Error rejections are tested too
    return Promise.reject(this.reason);
  }
}

/** Records the work scope it runs in. */
@IntentHandler('ScopeProbe')
class ScopeProbeHandler implements FulfillmentHandler {
  scope?: WorkScope;

  handle(): Promise<FulfillmentResult> {
    this.scope = currentWorkScope();
    return Promise.resolve({ text: 'probed' });
  }
}

/** Answers only when the test settles `next`; records what it saw. */
@IntentHandler('Slow')
class SlowHandler implements FulfillmentHandler {
  next = new Deferred<FulfillmentResult>();
  request?: FulfillmentRequest;
  abortReasons: unknown[] = [];

  handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    this.request = request;
    request.signal.addEventListener('abort', () => this.abortReasons.push(request.signal.reason));
    return this.next.promise;
  }
}

/** Gives up as soon as the signal aborts, the way a well-behaved query would. */
@IntentHandler('Cooperative')
class CooperativeHandler implements FulfillmentHandler {
  handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    return new Promise((_resolve, reject) => {
      request.signal.addEventListener('abort', () => reject(request.signal.reason as Error));
    });
  }
}

@Module({
  providers: [
    EchoHandler,
    PlainValueHandler,
    ThrowSyncHandler,
    RejectHandler,
    SlowHandler,
    CooperativeHandler,
    ScopeProbeHandler,
  ],
})
class TestHandlersModule {}

function input(intent: string): DispatchInput {
  return {
    platform: 'dialogflow-es',
    requestId: 'request-1',
    sessionId: 'projects/p/agent/sessions/s',
    intent,
    parameters: { amount: 5 },
    contexts: [{ name: 'ctx', lifespan: 1, parameters: {} }],
    sessionParameters: {},
    stage: 'fulfillment',
    confirmation: 'none',
    queryText: 'hello',
    languageCode: 'en',
    caller: { id: 'caller', platforms: ['dialogflow-es'] },
    raw: { original: true },
  };
}

describe('FulfillmentDispatcher', () => {
  let moduleRef: TestingModule;
  let dispatcher: FulfillmentDispatcher;
  let errorLog: jest.SpyInstance;
  let warnLog: jest.SpyInstance;

  beforeEach(async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    warnLog = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    errorLog = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    moduleRef = await Test.createTestingModule({
      imports: [FulfillmentModule.forRoot(OPTIONS), TestHandlersModule],
    }).compile();
    await moduleRef.init();
    dispatcher = moduleRef.get(FulfillmentDispatcher);
  });

  afterEach(async () => {
    // Never leave a handler hanging.
    moduleRef.get(SlowHandler).next.resolve({ text: 'released' });
    await settle();
    await moduleRef.close();
    jest.restoreAllMocks();
  });

  describe('a deadline fixed before the dispatch (a turn counts from its arrival)', () => {
    it('gives the handler only what is left, and answers with the interim reply when that runs out', async () => {
      // 200 ms budget of which 170 ms are already spent (reading, authentication, waiting for a connection).
      const deadline = Deadline.after(200, performance.now() - 170);
      const started = performance.now();
      const dispatched = await dispatcher.dispatch(input('Slow'), deadline);
      expect(dispatched.outcome).toBe('timed-out');
      expect(performance.now() - started).toBeLessThan(150);
      expect(moduleRef.get(SlowHandler).request?.deadline.getTime()).toBeLessThanOrEqual(Date.now());
    });

    it("runs the handler in its intent's work scope, whose deadline lets late work still reach the database", async () => {
      const probe = moduleRef.get(ScopeProbeHandler);
      const deadline = Deadline.after(1000);
      await dispatcher.dispatch(input('ScopeProbe'), deadline);
      expect(probe.scope?.lane).toBe('ScopeProbe');
      // Past the turn's own deadline: the handler's waits may outlast the reply (late work is kept).
      expect(probe.scope?.deadline?.at).toBeGreaterThan(deadline.at);
    });
  });

  describe('a handler that answers in time', () => {
    it('passes the result through as fulfilled, naming the handler class', async () => {
      const dispatched = await dispatcher.dispatch(input('Echo'), 1000);
      expect(dispatched).toEqual({
        outcome: 'fulfilled',
        handler: 'EchoHandler',
        result: {
          text: 'echo Echo',
          messages: [{ type: 'quick-replies', replies: ['a', 'b'] }],
          contexts: [{ name: 'echo', lifespan: 2 }],
          source: 'echo-backend',
        },
      });
      expect(errorLog).not.toHaveBeenCalled();
      expect(warnLog).not.toHaveBeenCalled();
    });

    it('gives the handler the input plus a deadline of now + budget and an un-aborted signal', async () => {
      const budgetMs = 2000;
      const before = Date.now();
      await dispatcher.dispatch(input('Echo'), budgetMs);
      const after = Date.now();

      const seen = moduleRef.get(EchoHandler).seen;
      expect(seen).toBeDefined();
      const { request, abortedDuringHandle, calledAt } = seen!;
      expect(request).toEqual(expect.objectContaining(input('Echo')));
      expect(request.raw).toEqual({ original: true });
      expect(request.deadline).toBeInstanceOf(Date);
      expect(request.deadline.getTime()).toBeGreaterThanOrEqual(before + budgetMs - 1); // the deadline is kept on the monotonic clock
      expect(request.deadline.getTime()).toBeLessThanOrEqual(after + budgetMs + 1);
      expect(request.deadline.getTime()).toBeGreaterThan(calledAt);
      expect(request.signal).toBeInstanceOf(AbortSignal);
      expect(abortedDuringHandle).toBe(false);
      expect(request.signal.aborted).toBe(false);
    });

    it('gives the handler the idempotency key of the turn, derived from caller, platform and turn id when absent', async () => {
      await dispatcher.dispatch(input('Echo'), 1000);
      const key = moduleRef.get(EchoHandler).seen?.request.idempotencyKey;
      expect(key).toBe(idempotencyKeyOf(input('Echo')));
      expect(key).toMatch(/^[0-9a-f]{64}$/);
    });

    it('passes an idempotency key it is given through unchanged', async () => {
      await dispatcher.dispatch({ ...input('Echo'), idempotencyKey: 'key-from-the-pipeline' }, 1000);
      expect(moduleRef.get(EchoHandler).seen?.request.idempotencyKey).toBe('key-from-the-pipeline');
    });

    it('gives every request its own signal', async () => {
      const echo = moduleRef.get(EchoHandler);
      await dispatcher.dispatch(input('Echo'), 1000);
      const first = echo.seen?.request.signal;
      await dispatcher.dispatch(input('Echo'), 1000);
      expect(echo.seen?.request.signal).not.toBe(first);
    });

    it('gives the requests of turns alike one hidden class, so that reads of them in a handler stay cached', async () => {
      const sameMap = sameHiddenClass();
      const echo = moduleRef.get(EchoHandler);
      const requestOf = async (turnKey: string): Promise<FulfillmentRequest> => {
        await dispatcher.dispatch({ ...input('Echo'), turnKey }, 1000);
        return echo.seen!.request;
      };
      const first = await requestOf('turn-1');
      const second = await requestOf('turn-2');
      expect(sameMap(first, second)).toBe(true);
      // Reading the key derives it from each turn's own id, and changes neither request's class.
      expect(first.idempotencyKey).not.toBe(second.idempotencyKey);
      expect(second.idempotencyKey).toBe(idempotencyKeyOf({ ...input('Echo'), turnKey: 'turn-2' }));
      expect(sameMap(first, second)).toBe(true);
      expect(Object.keys(second)).toContain('idempotencyKey');
      expect(Object.keys(second)).not.toContain('turnKey');
    });

    it('cancels the budget timer once the handler has answered', async () => {
      const clear = jest.spyOn(globalThis, 'clearTimeout');
      await dispatcher.dispatch(input('Echo'), 60_000);
      expect(clear).toHaveBeenCalledWith(expect.anything());
    });
  });

  describe('an intent without a handler', () => {
    it('answers with the fallback text and no handler name', async () => {
      const dispatched = await dispatcher.dispatch(input('NobodyHandlesThis'), BUDGET_MS);
      expect(dispatched).toStrictEqual({ outcome: 'fallback', result: { text: 'f' } });
      expect(warnLog).toHaveBeenCalledWith(expect.stringContaining('"NobodyHandlesThis"'));
    });
  });

  it('takes a result answered without a promise (a handler in plain JavaScript)', async () => {
    const dispatched = await dispatcher.dispatch(input('PlainValue'), 1000);
    expect(dispatched).toEqual({ outcome: 'fulfilled', result: { text: 'plain' }, handler: 'PlainValueHandler' });
  });

  describe('a handler that fails', () => {
    it('answers a synchronous throw with the error text', async () => {
      const dispatched = await dispatcher.dispatch(input('ThrowSync'), 1000);
      expect(dispatched).toEqual({
        outcome: 'failed',
        result: { text: 'e', failed: true },
        handler: 'ThrowSyncHandler',
        // What was thrown, for the caller to classify (e.g. a lost database); never rendered.
        error: expect.objectContaining({ message: 'sync failure: core banking password=hunter2' }),
      });
      expect(dispatched.error).toBeInstanceOf(Error);
      // The details go to the log, never to the caller.
      expect(JSON.stringify(dispatched)).not.toContain('hunter2');
      expect(errorLog).toHaveBeenCalledTimes(1);
      expect(errorLog.mock.calls[0]?.[0]).toContain('ThrowSyncHandler failed on intent "ThrowSync"');
      expect(errorLog.mock.calls[0]?.[0]).toContain('sync failure');
      expect(errorLog.mock.calls[0]?.[1]).toEqual(expect.stringContaining('sync failure'));
    });

    it('answers a rejected promise with the error text', async () => {
      const reason = moduleRef.get(RejectHandler).reason;
      const dispatched = await dispatcher.dispatch(input('Reject'), 1000);
      expect(dispatched).toEqual({
        outcome: 'failed',
        result: { text: 'e', failed: true },
        handler: 'RejectHandler',
        error: reason,
      });
      expect(dispatched.error).toBe(reason);
      expect(errorLog).toHaveBeenCalledWith(expect.stringContaining('Error: async failure'), expect.any(String));
    });

    it("logs a PostgreSQL data exception without the customer's value it repeats, in the line and the stack", async () => {
      const failure = new DatabaseError('invalid input syntax for type bigint: "DE89370400440532013000"', 0, 'error');
      failure.code = '22P02';
      moduleRef.get(RejectHandler).reason = failure;
      await dispatcher.dispatch(input('Reject'), 1000);
      const [line, stack] = errorLog.mock.calls[0] as [string, string];
      expect(line).toContain('invalid input syntax for type bigint: "…"');
      expect(`${line}\n${stack}`).not.toContain('DE8937');
    });

    it('answers a rejection with a non-Error value with the error text', async () => {
      moduleRef.get(RejectHandler).reason = 'just a string';
      const dispatched = await dispatcher.dispatch(input('Reject'), 1000);
      expect(dispatched).toEqual({
        outcome: 'failed',
        result: { text: 'e', failed: true },
        handler: 'RejectHandler',
        error: 'just a string',
      });
      expect(errorLog).toHaveBeenCalledWith(expect.stringContaining('just a string'), undefined);
    });

    describe('with a failure that will pass (as the composition root tells a database refusal)', () => {
      class Outage extends Error {}

      @Global()
      @Module({
        providers: [
          {
            provide: PassingFailures,
            useValue: {
              causeOf: (error: unknown) => (error instanceof Outage ? 'the database is out of reach' : undefined),
            } satisfies PassingFailures,
          },
        ],
        exports: [PassingFailures],
      })
      class PassingFailuresModule {}

      let withPassing: TestingModule;
      beforeEach(async () => {
        withPassing = await Test.createTestingModule({
          imports: [PassingFailuresModule, FulfillmentModule.forRoot(OPTIONS), TestHandlersModule],
        }).compile();
        await withPassing.init();
      });
      afterEach(() => withPassing.close());

      it('logs it as a warning naming its cause, without a stack; the reply is the same', async () => {
        withPassing.get(RejectHandler).reason = new Outage('connect ECONNREFUSED 10.0.0.5:5432');
        const dispatched = await withPassing.get(FulfillmentDispatcher).dispatch(input('Reject'), 1000);
        expect(dispatched).toMatchObject({ outcome: 'failed', result: { text: 'e', failed: true } });
        expect(errorLog).not.toHaveBeenCalled();
        expect(warnLog).toHaveBeenCalledTimes(1);
        expect(warnLog.mock.calls[0]).toEqual([
          'RejectHandler failed on intent "Reject" (request request-1): the database is out of reach',
        ]);
      });

      it('still logs any other failure as an error with its stack', async () => {
        await withPassing.get(FulfillmentDispatcher).dispatch(input('ThrowSync'), 1000);
        expect(warnLog).not.toHaveBeenCalled();
        expect(errorLog).toHaveBeenCalledWith(expect.stringContaining('sync failure'), expect.any(String));
      });
    });
  });

  describe('a confirmation answer the handler did not get to use', () => {
    // A Rasa bot keeps a "yes" in its `confirmation` slot until told otherwise: kept past a reply that was not the
    // handler's, it had the same request asked anew act without a question (a second transfer after "still working").
    // The question stays on record: a "yes" said again to it acts under the question's key, once.
    const answeredYes = (intent: string): DispatchInput => ({
      ...input(intent),
      parameters: { amount: 5, confirmation: 'yes' },
      sessionParameters: { confirming: 'digest-of-the-question' },
    });

    it('is used up by the error reply', async () => {
      const dispatched = await dispatcher.dispatch(answeredYes('Reject'), 1000);
      expect(dispatched.result).toEqual({
        text: 'e',
        failed: true,
        sessionParameters: { confirmation: null },
      });
    });

    it('is used up by the interim reply', async () => {
      const dispatched = await dispatcher.dispatch(answeredYes('Slow'), BUDGET_MS);
      expect(dispatched).toMatchObject({ outcome: 'timed-out', result: { text: 'i' } });
      expect(dispatched.result.sessionParameters).toEqual({ confirmation: null });
    });
  });

  describe('a handler slower than its budget', () => {
    it('answers with the interim text and aborts the signal with a DeadlineExceededError', async () => {
      const slow = moduleRef.get(SlowHandler);
      const dispatched = await dispatcher.dispatch(input('Slow'), BUDGET_MS);

      expect(dispatched).toEqual({
        outcome: 'timed-out',
        result: { text: 'i' },
        handler: 'SlowHandler',
        late: expect.any(Promise),
      });
      expect(slow.request?.signal.aborted).toBe(true);
      expect(slow.request?.signal.reason).toBeInstanceOf(DeadlineExceededError);
      expect((slow.request?.signal.reason as Error).message).toBe(`deadline of ${BUDGET_MS} ms exceeded`);
      expect((slow.request?.signal.reason as Error).name).toBe('DeadlineExceededError');
      expect(slow.abortReasons).toEqual([slow.request?.signal.reason]);
      expect(warnLog).toHaveBeenCalledWith(expect.stringContaining(`within ${BUDGET_MS} ms`));
    });

    it('handles a rejection that arrives after the timeout: logged, never unhandled', async () => {
      // Jest fails the running test on an unhandled rejection (it listens on the real process; the
      // sandboxed `process` of a test file never sees 'unhandledRejection'), so settling here is the check.
      const slow = moduleRef.get(SlowHandler);
      const dispatched = await dispatcher.dispatch(input('Slow'), BUDGET_MS);
      expect(dispatched.outcome).toBe('timed-out');
      expect(errorLog).not.toHaveBeenCalled();

      slow.next.reject(new Error('core banking gave up'));
      await settle();

      expect(errorLog).toHaveBeenCalledTimes(1);
      expect(errorLog).toHaveBeenCalledWith(
        'SlowHandler failed after its deadline (request request-1): Error: core banking gave up',
      );
    });

    it('does not log a handler that gives up because of the abort', async () => {
      const dispatched = await dispatcher.dispatch(input('Cooperative'), BUDGET_MS);
      expect(dispatched).toEqual({
        outcome: 'timed-out',
        result: { text: 'i' },
        handler: 'CooperativeHandler',
        late: expect.any(Promise),
      });
      await settle();
      expect(errorLog).not.toHaveBeenCalled();
    });

    it('does not log an AbortError after the timeout', async () => {
      const slow = moduleRef.get(SlowHandler);
      await dispatcher.dispatch(input('Slow'), BUDGET_MS);
      // An Error named AbortError, as fetch, pg and timers/promises reject with. (A DOMException would come
      // from Node's realm, not the test sandbox's, so `instanceof Error` would be false under Jest only.)
      slow.next.reject(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }));
      await settle();
      expect(errorLog).not.toHaveBeenCalled();
    });

    it('ignores a late success', async () => {
      const slow = moduleRef.get(SlowHandler);
      const dispatched = await dispatcher.dispatch(input('Slow'), BUDGET_MS);
      slow.next.resolve({ text: 'too late' });
      await settle();
      expect(dispatched.result).toEqual({ text: 'i' });
      expect(errorLog).not.toHaveBeenCalled();
    });
  });
});

/** Keeps what the dispatcher hands over; answers with `pending-<n>`, or fails when told to. */
class FakeDeferredResults extends DeferredResults {
  readonly calls: { request: Omit<FulfillmentRequest, 'signal' | 'deadline'>; work: Promise<FulfillmentResult> }[] = [];
  failure?: Error;

  defer(request: Omit<FulfillmentRequest, 'signal' | 'deadline'>, work: Promise<FulfillmentResult>): string {
    this.calls.push({ request, work });
    if (this.failure) throw this.failure;
    return `pending-${this.calls.length}`;
  }
}

describe('FulfillmentDispatcher keeping late work (work that outlives its budget)', () => {
  let moduleRef: TestingModule;
  let dispatcher: FulfillmentDispatcher;
  let deferred: FakeDeferredResults;
  let errorLog: jest.SpyInstance;

  /** The turn pipeline hands the async module's store over with each dispatch; so does this. */
  async function compile(options: FulfillmentOptions): Promise<void> {
    deferred = new FakeDeferredResults();
    moduleRef = await Test.createTestingModule({
      imports: [FulfillmentModule.forRoot(options), TestHandlersModule],
    }).compile();
    await moduleRef.init();
    dispatcher = moduleRef.get(FulfillmentDispatcher);
  }

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    errorLog = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    moduleRef.get(SlowHandler).next.resolve({ text: 'released' });
    await settle();
    await moduleRef.close();
    jest.restoreAllMocks();
  });

  it('hands the running work over and answers with the interim text and the pending id as a session parameter', async () => {
    await compile(OPTIONS);
    const slow = moduleRef.get(SlowHandler);
    const dispatched = await dispatcher.dispatch(input('Slow'), BUDGET_MS, { keepLateWork: deferred });

    expect(dispatched).toEqual({
      outcome: 'timed-out',
      result: { text: 'i', sessionParameters: { [PENDING_FULFILLMENT_PARAMETER]: 'pending-1' } },
      handler: 'SlowHandler',
      late: expect.any(Promise),
    });
    expect(deferred.calls).toHaveLength(1);
    const [{ request, work }] = deferred.calls;
    // The caller gets the same running work, e.g. to store the real outcome of a state-changing turn.
    expect(dispatched.late).toBe(work);
    // The request as the handler got it, minus what only makes sense while the caller waits.
    expect(request).toEqual({ ...input('Slow'), idempotencyKey: idempotencyKeyOf(input('Slow')) });
    expect(request).not.toHaveProperty('signal');
    expect(request).not.toHaveProperty('deadline');
    // The work handed over is the handler's own: its late result is what gets kept.
    slow.next.resolve({ text: 'late answer' });
    await expect(work).resolves.toEqual({ text: 'late answer' });
    expect(errorLog).not.toHaveBeenCalled();
  });

  it('answers an interim reply that carries the pending id (no platform-specific follow-up here)', async () => {
    await compile(OPTIONS);
    for (const platform of ['dialogflow-es', 'dialogflow-cx'] as const) {
      const dispatched = await dispatcher.dispatch({ ...input('Slow'), platform }, BUDGET_MS, {
        keepLateWork: deferred,
      });
      expect(dispatched.result).toEqual({
        text: 'i',
        sessionParameters: { [PENDING_FULFILLMENT_PARAMETER]: expect.stringMatching(/^pending-\d$/) },
      });
    }
  });

  it('without a store to keep late work, keeps nothing and answers with the interim text only', async () => {
    await compile(OPTIONS);
    const dispatched = await dispatcher.dispatch(input('Slow'), BUDGET_MS);
    expect(dispatched).toEqual({
      outcome: 'timed-out',
      result: { text: 'i' },
      handler: 'SlowHandler',
      late: expect.any(Promise),
    });
    expect(deferred.calls).toEqual([]);
  });

  it('does not defer work that answers in time', async () => {
    await compile(OPTIONS);
    const dispatched = await dispatcher.dispatch(input('Echo'), 1000, { keepLateWork: deferred });
    expect(dispatched.outcome).toBe('fulfilled');
    expect(deferred.calls).toEqual([]);
  });

  it('kept work goes on: its signal is aborted only lateWorkTimeoutMs after the deadline', async () => {
    await compile({ ...OPTIONS, lateWorkTimeoutMs: 80 });
    const slow = moduleRef.get(SlowHandler);
    await dispatcher.dispatch(input('Slow'), BUDGET_MS, { keepLateWork: deferred });
    expect(slow.request?.signal.aborted).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(slow.request?.signal.aborted).toBe(true);
    expect(slow.request?.signal.reason).toBeInstanceOf(DeadlineExceededError);
    expect((slow.request?.signal.reason as Error).message).toBe(`deadline of ${BUDGET_MS + 80} ms exceeded`);
  });

  it('kept work that finishes before the late limit is never aborted', async () => {
    await compile({ ...OPTIONS, lateWorkTimeoutMs: 80 });
    const slow = moduleRef.get(SlowHandler);
    await dispatcher.dispatch(input('Slow'), BUDGET_MS, { keepLateWork: deferred });
    slow.next.resolve({ text: 'late but in time' });
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(slow.request?.signal.aborted).toBe(false);
  });

  it('work that is not kept is aborted at the deadline', async () => {
    await compile({ ...OPTIONS, lateWorkTimeoutMs: 10_000 });
    const slow = moduleRef.get(SlowHandler);
    await dispatcher.dispatch(input('Slow'), BUDGET_MS);
    expect(slow.request?.signal.aborted).toBe(true);
  });

  it('still answers with the interim text when the late result cannot be kept, and logs why', async () => {
    await compile(OPTIONS);
    deferred.failure = new Error('database is gone');
    const dispatched = await dispatcher.dispatch(input('Slow'), BUDGET_MS, { keepLateWork: deferred });
    expect(dispatched).toEqual({
      outcome: 'timed-out',
      result: { text: 'i' },
      handler: 'SlowHandler',
      late: expect.any(Promise),
    });
    expect(errorLog).toHaveBeenCalledWith(
      'Could not keep the late result of request request-1: Error: database is gone',
    );
  });
});
