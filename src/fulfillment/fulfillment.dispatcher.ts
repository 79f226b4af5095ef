import { Injectable, Logger } from '@nestjs/common';
import type { FulfillmentRequest } from './fulfillment-request';
import type { FulfillmentResult } from './fulfillment-result';
import { FulfillmentOptions } from './fulfillment.options';
import { IntentHandlerRegistry } from './intent-handler.registry';

export type DispatchOutcome = 'fulfilled' | 'fallback' | 'failed' | 'timed-out' | 'delegated';

export interface DispatchResult {
  readonly outcome: DispatchOutcome;
  readonly result: FulfillmentResult;
  readonly handler?: string;
}

export type DispatchInput = Omit<FulfillmentRequest, 'deadline' | 'signal'>;

export class DeadlineExceededError extends Error {
  constructor(budgetMs: number) {
    super(`deadline of ${budgetMs} ms exceeded`);
    this.name = 'DeadlineExceededError';
  }
}

const TIMED_OUT = Symbol('timed-out');

/**
 * Runs the handler for a request within its time budget. The caller always gets a reply: the handler's,
 * a fallback for an unknown intent, a polite apology when the handler fails, or an interim "still working"
 * reply when the budget runs out (so the platform never times out).
 */
@Injectable()
export class FulfillmentDispatcher {
  private readonly logger = new Logger(FulfillmentDispatcher.name);

  constructor(
    private readonly registry: IntentHandlerRegistry,
    private readonly options: FulfillmentOptions,
  ) {}

  async dispatch(input: DispatchInput, budgetMs: number): Promise<DispatchResult> {
    const registered = this.registry.find(input.intent);
    if (!registered) {
      this.logger.warn(`No handler for intent "${input.intent}" (request ${input.requestId}); sent the fallback reply`);
      return { outcome: 'fallback', result: { text: this.options.fallbackText } };
    }

    if (!registered.stages.includes(input.stage)) {
      // e.g. a Lex dialog code hook for a handler that only fulfils: let the platform go on collecting slots.
      return { outcome: 'delegated', result: { text: '', delegate: true }, handler: registered.className };
    }

    const controller = new AbortController();
    const request: FulfillmentRequest = {
      ...input,
      deadline: new Date(Date.now() + budgetMs),
      signal: controller.signal,
    };
    const work = Promise.resolve().then(() => registered.handler.handle(request));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), budgetMs);
    });

    try {
      const settled = await Promise.race([work, timeout]);
      if (settled === TIMED_OUT) {
        controller.abort(new DeadlineExceededError(budgetMs));
        this.logger.warn(
          `${registered.className} did not answer intent "${input.intent}" within ${budgetMs} ms ` +
            `(request ${input.requestId}); sent the interim reply`,
        );
        work.catch((error: unknown) => this.logLateFailure(registered.className, input.requestId, error));
        return { outcome: 'timed-out', result: { text: this.options.interimText }, handler: registered.className };
      }
      return { outcome: 'fulfilled', result: settled, handler: registered.className };
    } catch (error: unknown) {
      this.logger.error(
        `${registered.className} failed on intent "${input.intent}" (request ${input.requestId}): ${describe(error)}`,
        error instanceof Error ? error.stack : undefined,
      );
      return {
        outcome: 'failed',
        result: { text: this.options.errorText, failed: true },
        handler: registered.className,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  private logLateFailure(className: string, requestId: string, error: unknown): void {
    if (error instanceof DeadlineExceededError || (error instanceof Error && error.name === 'AbortError')) return;
    this.logger.error(`${className} failed after its deadline (request ${requestId}): ${describe(error)}`);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
