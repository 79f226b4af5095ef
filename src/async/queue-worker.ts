import type { Logger } from '@nestjs/common';
import type PgBoss from 'pg-boss';

/** What of pg-boss a worker uses: take a job, record how it ended. */
export type JobSource = Pick<PgBoss, 'fetch' | 'complete' | 'fail'>;

export interface QueueWorkerOptions {
  readonly queue: string;
  /** How long a taken job stays this worker's: after that pg-boss expires it and another runner retries it. */
  readonly expireInSeconds: number;
  readonly pollIntervalMs: number;
  /** Between attempts to record a job's end while the database is away. */
  readonly settleRetryMs?: number;
  /** Jobs run at once (1 unless said): one slow job (a receiver that takes its 10 s) then holds one lane only. */
  readonly concurrency?: number;
}

const DEFAULT_SETTLE_RETRY_MS = 500;

/**
 * One queue's worker: in each of its lanes (`concurrency`), takes one job at a time, runs it, and records how it
 * ended, every step awaited. pg-boss's
 * own worker (`boss.work`) records the end without awaiting it: when PostgreSQL went away just as a job ended
 * (a restart, a failover), that statement's rejection was unhandled and ended the process. Here a failed fetch is
 * tried again at the next poll, and a job's end is recorded again until it is stored or the job's lease runs out
 * (then pg-boss expires it and it runs again: every job handler is idempotent).
 */
export class QueueWorker<T> {
  private stopping = false;
  private abandoned = false;
  private readonly running = new Set<PgBoss.JobWithMetadata<T>>();
  private loop?: Promise<void>;
  private readonly wakers = new Set<() => void>();
  private fetchFailing = false;

  constructor(
    private readonly source: JobSource,
    private readonly options: QueueWorkerOptions,
    private readonly run: (job: PgBoss.JobWithMetadata<T>) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const lanes = Math.max(1, this.options.concurrency ?? 1);
    this.loop ??= Promise.all(Array.from({ length: lanes }, () => this.poll())).then(() => undefined);
  }

  /**
   * Takes no more jobs and gives the running ones `graceMs` to finish; those still running then are failed back to
   * the queue (retried by another replica) as far as the database lets that be recorded.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const wake of [...this.wakers]) wake();
    if (!this.loop) return;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      this.loop.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    if (finished) return;
    this.abandoned = true;
    await Promise.all(
      [...this.running].map((job) =>
        this.source
          .fail(this.options.queue, job.id, { message: 'the replica shut down while the job ran' })
          .catch((error: unknown) =>
            this.logger.warn(
              `Job ${job.id} (${this.options.queue}) left running at shutdown; it runs again when it expires: ${text(error)}`,
            ),
          ),
      ),
    );
  }

  private async poll(): Promise<void> {
    while (!this.stopping) {
      const job = await this.next();
      if (job) await this.runOne(job);
      else await this.pause(this.options.pollIntervalMs);
    }
  }

  private async next(): Promise<PgBoss.JobWithMetadata<T> | undefined> {
    try {
      const [job] = await this.source.fetch<T>(this.options.queue, { batchSize: 1, includeMetadata: true });
      if (this.fetchFailing) this.logger.log(`Job queue ${this.options.queue}: taking jobs again`);
      this.fetchFailing = false;
      return job;
    } catch (error: unknown) {
      if (!this.fetchFailing) {
        this.logger.warn(
          `Job queue ${this.options.queue}: cannot take jobs (${text(error)}); trying again every ${this.options.pollIntervalMs} ms`,
        );
      }
      this.fetchFailing = true;
      return undefined;
    }
  }

  private async runOne(job: PgBoss.JobWithMetadata<T>): Promise<void> {
    const leaseEnds = Date.now() + this.options.expireInSeconds * 1000;
    this.running.add(job);
    let failure: { error: unknown } | undefined;
    try {
      await this.run(job);
    } catch (error: unknown) {
      failure = { error };
    }
    await this.settle(job, failure, leaseEnds);
    this.running.delete(job);
  }

  private async settle(job: PgBoss.JobWithMetadata<T>, failure: { error: unknown } | undefined, leaseEnds: number) {
    const { queue } = this.options;
    for (let attempt = 1; ; attempt += 1) {
      try {
        if (failure) await this.source.fail(queue, job.id, { message: text(failure.error) });
        else await this.source.complete(queue, job.id);
        if (attempt > 1) this.logger.log(`Job ${job.id} (${queue}): its end was recorded at attempt ${attempt}`);
        return;
      } catch (error: unknown) {
        const retryMs = this.options.settleRetryMs ?? DEFAULT_SETTLE_RETRY_MS;
        if (this.abandoned || Date.now() + retryMs >= leaseEnds) {
          this.logger.warn(
            `Job ${job.id} (${queue}): could not record that it ${failure ? 'failed' : 'completed'} (${text(error)}); ` +
              'it runs again when its lease expires',
          );
          return;
        }
        await this.pause(retryMs);
      }
    }
  }

  /** Waits `ms`, or less when the worker is stopped meanwhile. */
  private pause(ms: number): Promise<void> {
    if (this.stopping && this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
}

function text(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
