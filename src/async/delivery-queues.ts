import { Logger } from '@nestjs/common';
import type PgBoss from 'pg-boss';
import type { CallerRegistry } from '../auth/callers/caller-registry';
import type { JobQueue } from './job-queue';
import type { QueueDefinition } from './queue-definition';

/**
 * The one queue of every delivery before each caller had its own: still worked, for the jobs an earlier release
 * queued there (during and after a rolling upgrade) and for replays, which the deliveries CLI queues without
 * knowing which callers' queues the replicas work.
 */
export const DELIVERY_QUEUE = 'callback-delivery';
/** Delivery jobs whose every run failed inside the service (pg-boss's dead letters for the delivery queues). */
export const FAILED_DELIVERY_QUEUE = 'callback-delivery-failed';
const CALLER_QUEUE_PREFIX = `${DELIVERY_QUEUE}.`;

/**
 * Deliveries of one caller one replica attempts at once (each mostly waits for its receiver): a receiver that
 * takes its whole timeout to answer holds its own caller's lanes, never another caller's.
 */
export const DELIVERY_CONCURRENCY = 8;

/** The queue of one caller's deliveries (caller ids are letters, digits, `.`, `_` and `-`). */
export function deliveryQueueOf(callerId: string): string {
  return CALLER_QUEUE_PREFIX + callerId;
}

/**
 * The delivery queues a replica works: the shared one, one per caller with a callback URL, and the queue of a caller
 * the callers file no longer has while it still holds jobs (they settle as dead when they run). All take the same
 * settings and handler; only the lanes are each caller's own.
 */
export class DeliveryQueues<Job> {
  private readonly logger = new Logger('CallbackDeliveries');
  private timer?: NodeJS.Timeout;
  private failing = false;
  /** A check still running (a slow database) when the next is due: that one is skipped. */
  private checking = false;

  constructor(
    private readonly jobs: JobQueue,
    private readonly callers: CallerRegistry,
    private readonly settings: (name: string) => QueueDefinition,
    private readonly handler: (job: PgBoss.JobWithMetadata<Job>) => Promise<void>,
  ) {}

  /**
   * Registers the queues known at start (call from `onModuleInit`), and every `intervalMs` (the callers file's
   * reload interval) works those of callers added since and of removed callers whose jobs wait (see `workAll`).
   */
  start(intervalMs: number): void {
    this.jobs.work(this.settings(DELIVERY_QUEUE), this.handler);
    for (const caller of this.callers.all()) {
      if (caller.callback) this.jobs.work(this.settings(deliveryQueueOf(caller.id)), this.handler);
    }
    this.timer = setInterval(() => void this.workAllOrWarn(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The caller's queue, worked here from now on (created and worked first when the caller is new here). */
  async forCaller(callerId: string): Promise<string> {
    const name = deliveryQueueOf(callerId);
    await this.jobs.workNow(this.settings(name), this.handler);
    return name;
  }

  /**
   * Works the queue of each caller with a callback URL (one a reload added), and of each caller no longer in the file
   * whose queue still holds jobs (its replicas restarted since, or another replica queued them before its reload):
   * a queue no replica worked would keep its deliveries pending for ever.
   */
  async workAll(): Promise<void> {
    if (!this.jobs.isRunning) return;
    for (const caller of this.callers.all()) if (caller.callback) await this.forCaller(caller.id);
    for (const name of await this.jobs.queueNames()) {
      if (!name.startsWith(CALLER_QUEUE_PREFIX) || this.jobs.isWorked(name)) continue;
      if ((await this.jobs.queueSize(name)) > 0) await this.jobs.workNow(this.settings(name), this.handler);
    }
  }

  private async workAllOrWarn(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await this.workAll();
      if (this.failing) this.logger.log('Delivery queues: every one is worked again');
      this.failing = false;
    } catch (error: unknown) {
      if (!this.failing) {
        this.logger.warn(`Could not look for new delivery queues (tried again at the next check): ${String(error)}`);
      }
      this.failing = true;
    } finally {
      this.checking = false;
    }
  }
}
