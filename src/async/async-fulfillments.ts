import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config';
import { DatabasePool } from '../database/database-pool';
import {
  DispatchInput,
  FulfillmentDispatcher,
  FulfillmentResult,
  idempotencyKeyOf,
  PENDING_FULFILLMENT_PARAMETER,
  operatorText,
} from '../fulfillment';
import { FulfillmentResults } from './fulfillment-results';
import { JobQueue } from './job-queue';
import { recordJobOutcome } from '../observability/job-tracing';

export const FULFILLMENT_QUEUE = 'async-fulfillment';

/** Extra time an async turn's job may wait for a worker, beyond the time its attempts may take. */
const QUEUE_WAIT_MARGIN_SECONDS = 600;

/**
 * How long an async turn may take from its acknowledgement, waiting and every attempt included: its job not started
 * by then is given up by the queue (its retention), and its fulfillment recorded as failed by the retention job.
 */
export function asyncGiveUpSeconds({ jobTimeoutMs, jobRetries }: AppConfig['async']): number {
  return Math.ceil((jobTimeoutMs / 1000) * (jobRetries + 1)) + QUEUE_WAIT_MARGIN_SECONDS;
}

interface FulfillmentJob {
  readonly fulfillmentId: string;
  readonly input: DispatchInput & { readonly idempotencyKey: string };
}

/**
 * Handlers declared `mode: 'async'`: the turn is acknowledged at once and the handler runs as a job. A job
 * whose replica dies is expired and run again elsewhere with the same idempotency key, so a handler that
 * keys its writes on it has its effect once.
 */
/** Async turns one replica runs at once. */
export const FULFILLMENT_JOB_CONCURRENCY = 4;

@Injectable()
export class AsyncFulfillments implements OnModuleInit {
  private readonly logger = new Logger(AsyncFulfillments.name);

  constructor(
    private readonly pool: DatabasePool,
    private readonly queue: JobQueue,
    private readonly results: FulfillmentResults,
    private readonly dispatcher: FulfillmentDispatcher,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const { jobTimeoutMs, jobRetries } = this.config.async;
    this.queue.work<FulfillmentJob>(
      {
        name: FULFILLMENT_QUEUE,
        expireInSeconds: Math.ceil(jobTimeoutMs / 1000),
        retryLimit: jobRetries,
        retryDelaySeconds: 1,
        // One long handler (up to ASYNC_JOB_TIMEOUT_MS) holds one of these, not every queued turn.
        concurrency: FULFILLMENT_JOB_CONCURRENCY,
      },
      (job) => this.run(job.data, job.retryCount >= job.retryLimit),
    );
  }

  /**
   * Stores the turn and its job in one transaction, as fulfillment `id`; returns the reply that acknowledges it. A
   * turn queued before under its idempotency key is acknowledged with that fulfillment, and not queued again.
   */
  async accept(input: DispatchInput, id: string = randomUUID()): Promise<FulfillmentResult> {
    const job: FulfillmentJob = {
      fulfillmentId: id,
      input: { ...input, idempotencyKey: input.idempotencyKey ?? idempotencyKeyOf(input) },
    };
    const queued = await this.results.whileQueueing(id, input, () =>
      this.pool.transaction(async (client) => {
        const fulfillmentId = await this.results.queueTurn(id, input, job.input.idempotencyKey, client);
        if (fulfillmentId === id) {
          // The job is the fulfillment's namesake, for the retention job to ask the queue what became of it.
          const retentionSeconds = asyncGiveUpSeconds(this.config.async);
          await this.queue.send(FULFILLMENT_QUEUE, job, { id, retentionSeconds }, client);
        }
        return fulfillmentId;
      }),
    );
    return {
      text: operatorText(this.config.async.acceptedText, input.languageCode),
      sessionParameters: { [PENDING_FULFILLMENT_PARAMETER]: queued },
    };
  }

  /**
   * Whether the job of async fulfillment `id` may still run its handler (waiting, to be retried or running). A
   * fulfillment queued before jobs were named after it has no job under its id: unknown, so false.
   */
  async jobMayStillRun(id: string): Promise<boolean> {
    return (await this.queue.jobFate(FULFILLMENT_QUEUE, id)) === 'pending';
  }

  private async run(job: FulfillmentJob, lastAttempt: boolean): Promise<void> {
    // A result once recorded is final: a job that outlived its fulfillment (recorded as failed while it waited in
    // a backlog) must not have the handler's effect behind a result that says it failed.
    if (!(await this.results.markRunning(job.fulfillmentId))) {
      this.logger.warn(
        `Async fulfillment ${job.fulfillmentId} (${job.input.intent}) was settled before its job ran: not run`,
      );
      return;
    }
    // The job's own budget, a little under its expiry so a finished run is never also retried.
    const budgetMs = Math.max(500, this.config.async.jobTimeoutMs - 1000);
    const { outcome, result, handler, error } = await this.dispatcher.dispatch(job.input, budgetMs);
    recordJobOutcome(job.input.intent, outcome, handler, error);
    if (outcome === 'failed' || outcome === 'timed-out') {
      const what = `async handler for "${job.input.intent}" ${outcome === 'failed' ? 'failed' : 'timed out'}`;
      if (!lastAttempt) throw new Error(`${what}; the job will be retried`);
      this.logger.error(`Async fulfillment ${job.fulfillmentId}: ${what} on its last attempt`);
      // As late work's: a state-changing job whose write may have committed is not told to try again.
      const failed = this.results.failedResult(job.input, error, outcome === 'timed-out');
      await this.results.finish(job.fulfillmentId, 'failed', failed);
      return;
    }
    await this.results.finish(job.fulfillmentId, 'completed', result);
    this.logger.log(`Async fulfillment ${job.fulfillmentId} (${job.input.intent}) completed`);
  }
}
