import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import PgBoss from 'pg-boss';
import { answeredWithin } from '../common/answered-within';
import { AppConfig } from '../config';
import { APPLICATION_NAME, CONNECT_TIMEOUT_MS } from '../database/data-source-options';
import { DatabasePool } from '../database/database-pool';
import type { SqlTransaction } from '../database/sql';
import { retryLostConnection, START_ATTEMPTS } from '../database/start-retries';
import { traceJob, withTraceContext } from '../observability/job-tracing';
import { Metrics } from '../observability/metrics';
import { ensureQueues } from './queue-creation';
import type { QueueDefinition } from './queue-definition';
import { type JobSource, QueueWorker } from './queue-worker';

/** A scrape must not hang on a slow database: the queue depth is left out of that scrape instead. */
const QUEUE_SIZE_TIMEOUT_MS = 2_000;

export const JOB_SCHEMA = 'pgboss';
/** pg-boss's own statements (maintenance included) run without a statement timeout: give them long. */
const JOB_QUERY_READ_TIMEOUT_MS = 60_000;
/** The pause between attempts at start, as the data source's (`startDataSource`). */
const START_RETRY_MS = 1000;
/** How often each replica offers the periodic jobs (see `every`). */
const PERIODIC_OFFER_MS = 60_000;

/**
 * What became of a job: `pending` (waiting, to be retried, or running: it may still run its handler), `ended`
 * (completed, failed or cancelled, or given up by the queue before it could start: it never runs again), or
 * `unknown` (no job under that id: never queued under it, or purged long after it ended).
 */
export type JobFate = 'pending' | 'ended' | 'unknown';

const PENDING_STATES: ReadonlySet<string> = new Set(['created', 'retry', 'active']);

type JobHandler<T> = (job: PgBoss.JobWithMetadata<T>) => Promise<void>;

interface Registration {
  readonly queue: QueueDefinition;
  readonly handler: JobHandler<never>;
}

/**
 * Options that make pg-boss share our connection settings; used by the app and by `database.cli migrate`.
 * pg-boss hands them to pg's Pool: without a connect timeout, a server that takes the connection and never answers
 * (a frozen primary, a proxy whose backend is gone) holds each new connection for ever, and closing the pool waits
 * for them.
 */
export function jobQueueOptions(
  url: string,
  max: number,
): PgBoss.ConstructorOptions & { readonly connectionTimeoutMillis: number } {
  return {
    connectionString: url,
    schema: JOB_SCHEMA,
    max,
    application_name: `${APPLICATION_NAME}-jobs`,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  };
}

/**
 * pg-boss for one queue's worker, where the lanes of an idle queue take turns: while the last fetch found it empty,
 * a lane that wakes within a poll interval of that fetch, or while another lane's fetch is on its way, is told the
 * queue is empty without asking PostgreSQL. An idle queue then costs one fetch per interval, not one per lane (eight
 * for each caller's deliveries); once a fetch finds a job, every lane asks again as it wakes or finishes a job.
 */
function idleGatedSource(boss: PgBoss, pollIntervalMs: number): JobSource {
  /** Until when the queue is taken as empty; 0 while the last fetch found a job. */
  let emptyUntil = 0;
  let idleFetchOnItsWay = false;
  return {
    fetch: (async (name: string, options: PgBoss.FetchOptions) => {
      const idle = emptyUntil > 0;
      if (idle && (idleFetchOnItsWay || Date.now() < emptyUntil)) return [];
      // From before the fetch: the lane that asked wakes a whole interval after it answered, so it asks again.
      const asked = Date.now();
      if (idle) idleFetchOnItsWay = true;
      try {
        const jobs = await boss.fetch(name, options);
        emptyUntil = jobs.length === 0 ? asked + pollIntervalMs : 0;
        return jobs;
      } finally {
        if (idle) idleFetchOnItsWay = false;
      }
    }) as PgBoss['fetch'],
    complete: boss.complete.bind(boss),
    fail: boss.fail.bind(boss),
  };
}

/** The least time the queue is given to close, even when the shutdown's grace period is spent. */
const MIN_CLOSE_MS = 1000;

/**
 * How long pg-boss keeps a finished job: an async job holds the turn's request (its parameters, its raw body), so
 * it is gone when the result is (FULFILLMENT_RESULT_TTL_HOURS), not after pg-boss's 12 hours plus 7 days in its
 * archive. Half the time (at most 12 hours) in the job table, where the retention job asks what became of a job,
 * the rest in the archive.
 */
export function jobRetention(resultTtlMs: number): PgBoss.MaintenanceOptions {
  const keepSeconds = Math.max(120, Math.floor(resultTtlMs / 1000));
  const archiveAfterSeconds = Math.min(43_200, Math.floor(keepSeconds / 2));
  return {
    archiveCompletedAfterSeconds: archiveAfterSeconds,
    archiveFailedAfterSeconds: archiveAfterSeconds,
    deleteAfterSeconds: keepSeconds - archiveAfterSeconds,
  };
}

/**
 * The pg-boss job queue in our own PostgreSQL: jobs survive restarts, a job taken by a replica that dies is
 * expired and retried by another, and on shutdown running jobs finish (or go back to the queue) first.
 */
@Injectable()
export class JobQueue implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(JobQueue.name);
  private readonly registrations: Registration[] = [];
  private readonly periodic: { name: string; periodSeconds: number }[] = [];
  private periodicTimer?: NodeJS.Timeout;
  private boss?: PgBoss;
  private workers: QueueWorker<never>[] = [];
  /** The start of each queue's worker, by queue name: a queue registered after the start gets one (see `workNow`). */
  private readonly workerStarts = new Map<string, Promise<void>>();
  private started = false;
  /** Between stop() and the workers having stopped: pg-boss still takes jobs from those finishing. */
  private stopping = false;
  private workersStopped?: Promise<void>;

  constructor(
    private readonly config: AppConfig,
    private readonly database: DatabasePool,
    @Optional() metrics?: Metrics,
  ) {
    metrics?.gauge('job_queue_depth', 'Jobs waiting (queued or to be retried) per queue', async (observe) => {
      for (const { queue, size } of await this.queueSizesWithin(QUEUE_SIZE_TIMEOUT_MS)) observe(size, { queue });
    });
  }

  /** Registers a queue and its worker; call from `onModuleInit` (workers start with the application). */
  work<T>(queue: QueueDefinition, handler: JobHandler<T>): void {
    this.registrations.push({ queue, handler: handler });
  }

  /**
   * Registers a queue and its worker unless it is registered already, and once the queue runs, creates the queue
   * if it is missing and starts the worker, resolving when both are done: a queue known only after the start (a
   * caller added by a callers-file reload) is worked from then on. Before the start, it starts with the others.
   */
  async workNow<T>(queue: QueueDefinition, handler: JobHandler<T>): Promise<void> {
    let registration = this.registrations.find((known) => known.queue.name === queue.name);
    if (!registration) {
      registration = { queue, handler: handler };
      this.registrations.push(registration);
    }
    const boss = this.boss;
    if (boss && this.started) await this.startLateWorker(boss, registration);
  }

  /** Whether this replica works the queue, or is starting to (one whose start failed is not: ask again). */
  isWorked(name: string): boolean {
    return this.workerStarts.has(name);
  }

  /** The names of every queue in pg-boss's schema, worked here or not. */
  async queueNames(): Promise<string[]> {
    return (await this.running().getQueues()).map((queue) => queue.name);
  }

  /** Jobs waiting (created or to be retried, due or later) in one queue. */
  async queueSize(name: string): Promise<number> {
    return (await this.running().getQueueSize(name)) ?? 0;
  }

  /**
   * Queues a job on `name` once every `periodSeconds`, once across all replicas: each replica offers one every
   * minute and pg-boss keeps the first of each period (a singleton key). Not pg-boss's cron: its scheduler runs
   * on a `boss.work()` worker, whose unawaited end (see QueueWorker) could end the process.
   */
  every(name: string, periodSeconds: number): void {
    this.periodic.push({ name, periodSeconds });
  }

  get isRunning(): boolean {
    return this.started;
  }

  /**
   * Starts pg-boss and the workers. A start that loses PostgreSQL (a session the server ended between two steps,
   * e.g. `idle_session_timeout`, or the server out of reach for a moment) is tried again, like the data source's.
   */
  async onApplicationBootstrap(): Promise<void> {
    await retryLostConnection(() => this.start(), {
      retryMs: START_RETRY_MS,
      onRetry: (error, attempt) =>
        this.logger.warn(
          `Cannot start the job queue yet (${String(error)}); trying again in ${START_RETRY_MS} ms ` +
            `(attempt ${attempt} of ${START_ATTEMPTS})`,
        ),
    });
  }

  private async start(): Promise<void> {
    const url = this.config.database.url;
    if (!url) throw new Error('JobQueue needs a database URL');
    const { maintenanceIntervalSeconds } = this.config.async;
    const boss = new PgBoss({
      ...jobQueueOptions(url, 4),
      // pg-boss hands its options to pg's Pool: its connections get the same guard as ours (a lost
      // connection fails its queries instead of crashing the process; an unanswered query ends it).
      ...({ Client: this.database.clientClass(JOB_QUERY_READ_TIMEOUT_MS) } as object),
      maintenanceIntervalSeconds,
      ...jobRetention(this.config.async.resultTtlMs),
      monitorStateIntervalSeconds: Math.max(maintenanceIntervalSeconds, 10),
      schedule: false,
    });
    boss.on('error', (error: Error) => this.logger.warn(`Job queue: ${error.message}`));
    try {
      await boss.start();
      await this.startWorkers(boss);
    } catch (error: unknown) {
      await boss.stop({ graceful: false, close: true }).catch(() => undefined);
      throw error;
    }
    this.boss = boss;
    this.started = true;
    // Registered while the queue started, after its workers were made; one that fails is started at its next ask.
    for (const registration of this.registrations) {
      await this.startLateWorker(boss, registration).catch((error: unknown) =>
        this.logger.warn(`Could not start the worker of queue ${registration.queue.name}: ${String(error)}`),
      );
    }
  }

  private async startWorkers(boss: PgBoss): Promise<void> {
    // A dead-letter queue must exist before a queue that names it.
    const registrations = [...this.registrations];
    const queues = registrations.map(({ queue }) => queue);
    await ensureQueues(boss, this.database, [
      ...queues.filter(({ deadLetter }) => !deadLetter),
      ...queues.filter(({ deadLetter }) => deadLetter),
    ]);
    // Releases before this one scheduled these with pg-boss's cron.
    for (const { name } of this.periodic) await boss.unschedule(name);
    this.workers = registrations.map((registration) => this.workerFor(boss, registration));
    this.workerStarts.clear();
    for (const { queue } of registrations) this.workerStarts.set(queue.name, Promise.resolve());
    for (const worker of this.workers) worker.start();
    if (this.periodic.length > 0) {
      const offer = (): void => void this.offerPeriodicJobs(boss);
      offer();
      this.periodicTimer = setInterval(offer, PERIODIC_OFFER_MS).unref();
    }
  }

  /** Our own workers rather than boss.work(): see QueueWorker. */
  private workerFor(boss: PgBoss, { queue, handler }: Registration): QueueWorker<never> {
    const pollIntervalMs = this.config.async.pollIntervalMs;
    return new QueueWorker<never>(
      queue.idleLanesTakeTurns ? idleGatedSource(boss, pollIntervalMs) : boss,
      { queue: queue.name, expireInSeconds: queue.expireInSeconds, pollIntervalMs, concurrency: queue.concurrency },
      (job) => traceJob(queue.name, job, () => handler(job)),
      this.logger,
    );
  }

  /**
   * Starts the worker of a queue registered after the start, once however often it is asked (a failed start, e.g.
   * the queue's creation, is tried again at the next ask); nothing starts once the workers are stopping.
   */
  private startLateWorker(boss: PgBoss, registration: Registration): Promise<void> {
    const { name } = registration.queue;
    const known = this.workerStarts.get(name);
    if (known) return known;
    const starting = (async () => {
      await ensureQueues(boss, this.database, [registration.queue]);
      if (this.boss !== boss || !this.started) return;
      const worker = this.workerFor(boss, registration);
      this.workers.push(worker);
      worker.start();
    })();
    this.workerStarts.set(name, starting);
    starting.catch(() => this.workerStarts.delete(name));
    return starting;
  }

  private async offerPeriodicJobs(boss: PgBoss): Promise<void> {
    for (const { name, periodSeconds } of this.periodic) {
      try {
        await boss.send(name, {}, { singletonKey: name, singletonSeconds: periodSeconds });
      } catch (error: unknown) {
        this.logger.warn(`Could not queue the periodic ${name} job (tried again in a minute): ${String(error)}`);
      }
    }
  }

  /**
   * Queues a job; with `transaction`, inside it (the job exists only if the transaction commits).
   * The job runs in the trace that queued it (its data carries the trace context).
   */
  async send(
    queue: string,
    data: object,
    options: PgBoss.SendOptions = {},
    transaction?: SqlTransaction,
  ): Promise<string> {
    const boss = this.running();
    const id = await boss.send(queue, withTraceContext(data), { ...options, ...(transaction && { db: transaction }) });
    if (!id) throw new Error(`queue ${queue} refused the job`);
    return id;
  }

  /** What became of job `id` of `queue` (see `JobFate`). */
  async jobFate(queue: string, id: string): Promise<JobFate> {
    const boss = this.running();
    const job = await boss.getJobById(queue, id);
    if (job) return PENDING_STATES.has(job.state) ? 'pending' : 'ended';
    // pg-boss moves a job it is done with to its archive: ended (it archives a job that never started once the
    // job's retention has passed), whatever state it was archived in.
    return (await boss.getJobById(queue, id, { includeArchive: true })) ? 'ended' : 'unknown';
  }

  /** Jobs waiting in each registered queue (created or waiting for a retry); empty while not running. */
  async queueSizes(): Promise<{ queue: string; size: number }[]> {
    const boss = this.boss;
    if (!boss) return [];
    return Promise.all(
      this.registrations.map(async ({ queue }) => ({ queue: queue.name, size: await boss.getQueueSize(queue.name) })),
    );
  }

  private async queueSizesWithin(timeoutMs: number): Promise<{ queue: string; size: number }[]> {
    const timeout = new AbortController();
    try {
      return await Promise.race([this.queueSizes(), sleep(timeoutMs, [], { signal: timeout.signal })]);
    } catch (error: unknown) {
      this.logger.warn(`Could not read the job queue sizes: ${String(error)}`);
      return [];
    } finally {
      timeout.abort();
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /**
   * Stops taking jobs; running ones get half of what the grace period leaves after the delay, then go back to the
   * queue. Jobs can still be sent (a turn still being answered queues its job, late work its callback) until
   * `stop`. Idempotent.
   */
  async stopWorkers(): Promise<void> {
    if (!this.boss) return;
    this.started = false;
    clearInterval(this.periodicTimer);
    const { graceMs, delayMs } = this.config.shutdown;
    const timeout = Math.max(1000, Math.floor((graceMs - delayMs) / 2));
    const workers = this.workers;
    this.workers = [];
    this.workersStopped ??= Promise.all(workers.map((worker) => worker.stop(timeout))).then(() => undefined);
    await this.workersStopped;
  }

  /**
   * Stops the workers (see `stopWorkers`), then closes the queue: nothing can be sent after. Idempotent. Gives up
   * waiting for the queue's connections after `closeWithinMs` (at least a second): a connection the database never
   * answers must not hold the rest of the shutdown (the audit's flush, the pools' close) past the grace period.
   */
  async stop(closeWithinMs = this.config.shutdown.graceMs): Promise<void> {
    if (!this.boss || this.stopping) return;
    this.stopping = true;
    await this.stopWorkers();
    const boss = this.boss;
    this.boss = undefined;
    this.stopping = false;
    this.workersStopped = undefined;
    const limitMs = Math.max(MIN_CLOSE_MS, closeWithinMs);
    const stopped = boss.stop({ graceful: true, timeout: 1000, close: true }).catch((error: unknown) => {
      this.logger.warn(`Job queue did not stop cleanly: ${String(error)}`);
    });
    if (!(await answeredWithin(stopped, limitMs))) {
      this.logger.warn(`Job queue not closed after ${limitMs} ms: its database connections are left`);
    }
  }

  private running(): PgBoss {
    if (!this.boss) throw new Error('the job queue is not running');
    return this.boss;
  }
}
