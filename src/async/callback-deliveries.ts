import { Injectable, Logger, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Agent } from 'undici';
import { CallerRegistry } from '../auth/callers/caller-registry';
import type { CallbackTarget } from '../auth/callers/caller';
import { signStandardWebhook } from '../auth/hmac/standard-webhooks';
import { AppConfig } from '../config';
import { loggableErrorText } from '../common/errors/loggable-error';
import { DatabasePool } from '../database/database-pool';
import { sql, type SqlTransaction } from '../database/sql';
import { Metrics } from '../observability/metrics';
import { redactUrl } from '../observability/redaction';
import {
  assertUrlAllowed,
  CircuitOpenError,
  createGuardedAgent,
  ForbiddenAddressError,
  ForbiddenUrlError,
  OutboundHttpClient,
  OutboundResponseTooLargeError,
} from '../outbound';
import { nextRetryWait, retryDelay, retryWaitLimitMs, verdictFor } from './callback-outcome';
import type { CallbackDelivery, DeliveryStatus } from './callback-delivery.entity';
import { DELIVERY_CONCURRENCY, DELIVERY_QUEUE, DeliveryQueues, FAILED_DELIVERY_QUEUE } from './delivery-queues';
import type { StoredFulfillment } from './fulfillment-record.entity';
import { JobQueue } from './job-queue';
import type { QueueDefinition } from './queue-definition';

export { DELIVERY_CONCURRENCY, DELIVERY_QUEUE, deliveryQueueOf, FAILED_DELIVERY_QUEUE } from './delivery-queues';
const DELIVERY_JOB_RETRIES = 5;

export interface DeliveryJob {
  readonly deliveryId: string;
  /**
   * The attempts the delivery had made when this job was queued: a job that finds another number is a stale copy
   * (pg-boss ran again a job whose end it could not record, say in a failover) and does nothing, so an attempt is
   * neither sent twice nor before its Retry-After. Jobs queued before the field existed have none and are run.
   */
  readonly attempt?: number;
  /**
   * The waits between the delivery's attempts so far (ms), carried from retry to retry and limited (see
   * `retryWaitLimitMs`). A replay starts again from none, as do jobs queued before the field existed.
   */
  readonly waitedMs?: number;
  /**
   * When the job was queued to run (the delivery's `next_attempt_at`, ms since the epoch): a copy that finds another
   * time is stale. It tells apart the jobs of one attempt put off while a circuit is open, whose attempt is the same.
   */
  readonly due?: number;
  /** How many times the attempt was put off because the receiver's circuit was open (see `putOff`). */
  readonly refusals?: number;
}

/** A delivery job that failed inside the service every time it ran (pg-boss's dead-letter copy, or ours). */
interface FailedDeliveryJob extends DeliveryJob {
  /** Why its last run failed, once a copy of ours carries it (pg-boss's copy has it in the job's output). */
  readonly failure?: string;
  /** How many times giving up was itself postponed (see `giveUpOrPostpone`). */
  readonly postponed?: number;
}

const FAILED_DELIVERY_SETTINGS = {
  name: FAILED_DELIVERY_QUEUE,
  expireInSeconds: 60,
  retryLimit: DELIVERY_JOB_RETRIES,
  retryDelaySeconds: 5,
} as const;

/** The longest wait between tries at giving a delivery up. */
const GIVE_UP_RETRY_MAX_MS = 5 * 60_000;

/** A delivery as an attempt reads it. */
export type DeliveryRow = Pick<
  CallbackDelivery,
  'id' | 'fulfillmentId' | 'callerId' | 'url' | 'payload' | 'status' | 'attempts' | 'lastStatus' | 'nextAttemptAt'
>;

const INSERT = sql<never, [id: string, fulfillmentId: string, callerId: string, url: string, payload: string]>(
  'deliveries_insert',
  `INSERT INTO callback_deliveries (id, fulfillment_id, caller_id, url, payload, status, next_attempt_at)
   VALUES ($1, $2, $3, $4, $5, 'pending', now())`,
);

const GET = sql<DeliveryRow, [id: string]>(
  'deliveries_get',
  `SELECT id, fulfillment_id AS "fulfillmentId", caller_id AS "callerId", url, payload, status, attempts,
          last_status AS "lastStatus", next_attempt_at AS "nextAttemptAt"
     FROM callback_deliveries WHERE id = $1`,
);

/** Where a pending delivery goes from now on: its caller's callback URL changed since it was queued. */
export const REDIRECT = sql<{ redirected: 1 }, [id: string, url: string, attempts: number]>(
  'deliveries_redirect',
  `UPDATE callback_deliveries SET url = $2, updated_at = now()
   WHERE id = $1 AND status = 'pending' AND attempts = $3
   RETURNING 1 AS redirected`,
);

const IS_DISABLED = sql<{ disabled: 1 }, [callerId: string, url: string]>(
  'deliveries_disabled',
  `SELECT 1 AS disabled FROM disabled_callbacks WHERE caller_id = $1 AND url = $2`,
);

/** Stops deliveries to a caller's URL (a receiver that answered 410 Gone, or an operator); a row when it is new. */
export const DISABLE_URL = sql<{ disabled: 1 }, [callerId: string, url: string]>(
  'deliveries_disable_url',
  `INSERT INTO disabled_callbacks (caller_id, url) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1 AS disabled`,
);

// Both only from the attempt count the attempt started with: a stale copy of a job changes nothing.
const RETRY_LATER = sql<
  { updated: 1 },
  [id: string, attempts: number, lastStatus: number | null, lastError: string, nextAt: Date, before: number]
>(
  'deliveries_retry_later',
  `UPDATE callback_deliveries SET attempts = $2, last_status = $3, last_error = $4, next_attempt_at = $5,
     updated_at = now() WHERE id = $1 AND status = 'pending' AND attempts = $6
   RETURNING 1 AS updated`,
);

const SETTLE = sql<
  never,
  [
    id: string,
    status: DeliveryStatus,
    attempts: number,
    lastStatus: number | null,
    lastError: string | null,
    before: number,
  ]
>(
  'deliveries_settle',
  `UPDATE callback_deliveries SET status = $2::varchar, attempts = $3, last_status = $4, last_error = $5,
     next_attempt_at = NULL, updated_at = now(), delivered_at = CASE WHEN $2::varchar = 'delivered' THEN now() END
   WHERE id = $1 AND status = 'pending' AND attempts = $6`,
);

/** The callback body: Standard Webhooks' `{type, timestamp, data}` envelope around the finished work. */
export function callbackPayload(fulfillment: StoredFulfillment): string {
  return JSON.stringify({
    type: fulfillment.status === 'completed' ? 'fulfillment.completed' : 'fulfillment.failed',
    timestamp: (fulfillment.completedAt ?? new Date()).toISOString(),
    data: {
      id: fulfillment.id,
      status: fulfillment.status,
      platform: fulfillment.platform,
      sessionId: fulfillment.sessionId,
      intent: fulfillment.intent,
      result: fulfillment.result,
    },
  });
}

const ERROR_LIMIT = 500;
/** A receiver's answer is its status; its body is read no further than this (a 200 with a 5 MiB page is delivered). */
const CALLBACK_RESPONSE_BYTES = 64 * 1024;

/**
 * Sends finished work to the caller's callback URL, signed the Standard Webhooks way, with the same
 * `webhook-id` on every attempt; retries on the configured schedule (with jitter, honouring `Retry-After`),
 * and moves a delivery that cannot succeed to the dead-letter state, from which it can be replayed. Each caller's
 * deliveries have a queue of their own (see DeliveryQueues).
 */
@Injectable()
export class CallbackDeliveries implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(CallbackDeliveries.name);
  private readonly agents = new Map<boolean, Agent>();
  private readonly queues: DeliveryQueues<DeliveryJob>;

  constructor(
    private readonly pool: DatabasePool,
    private readonly queue: JobQueue,
    private readonly callers: CallerRegistry,
    private readonly http: OutboundHttpClient,
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: Metrics,
  ) {
    const settings = (name: string): QueueDefinition => ({
      name,
      expireInSeconds: Math.ceil(this.config.async.callbackTimeoutMs / 1000) + 30,
      retryLimit: DELIVERY_JOB_RETRIES,
      retryDelaySeconds: 5,
      deadLetter: FAILED_DELIVERY_QUEUE,
      concurrency: DELIVERY_CONCURRENCY,
      // One queue per caller: idle, each costs one fetch per poll interval instead of one per lane.
      idleLanesTakeTurns: true,
    });
    this.queues = new DeliveryQueues(queue, callers, settings, (job) => this.attempt(job.data));
  }

  onModuleInit(): void {
    this.queue.work<FailedDeliveryJob>(FAILED_DELIVERY_SETTINGS, (job) => this.giveUpOrPostpone(job.data, job.output));
    // Callers come and go with the callers file: its reload interval is as often as a new one can appear.
    this.queues.start(this.config.callers.reloadIntervalMs);
  }

  async onModuleDestroy(): Promise<void> {
    this.queues.stop();
    await Promise.all([...this.agents.values()].map((agent) => agent.close()));
  }

  /** Queues the delivery of a finished fulfillment when its caller has a callback URL. */
  async enqueue(fulfillment: StoredFulfillment, transaction?: SqlTransaction): Promise<string | undefined> {
    const target = this.callers.byId(fulfillment.callerId)?.callback;
    if (!target) return undefined;
    const queue = await this.queues.forCaller(fulfillment.callerId);
    const id = `msg_${randomUUID().replaceAll('-', '')}`;
    const write = async (tx: SqlTransaction): Promise<void> => {
      await tx.run(INSERT, [id, fulfillment.id, fulfillment.callerId, target.url, callbackPayload(fulfillment)]);
      await this.queue.send(queue, { deliveryId: id, attempt: 0 } satisfies DeliveryJob, {}, tx);
    };
    await (transaction ? write(transaction) : this.pool.transaction(write));
    return id;
  }

  /** The caller's callback URL now; undefined when the caller has none (any more). */
  currentUrlOf(callerId: string): string | undefined {
    return this.callers.byId(callerId)?.callback?.url;
  }

  /**
   * The queue a replayed delivery of the caller goes to: the caller's own while it has a callback URL, else the
   * shared one (where its attempt settles it as dead).
   */
  async replayQueueOf(callerId: string): Promise<string> {
    return this.currentUrlOf(callerId) === undefined ? DELIVERY_QUEUE : this.queues.forCaller(callerId);
  }

  /**
   * One attempt; the job itself always completes, the next attempt is a new job scheduled for later. `expected`:
   * the attempts made before this one, as the job was queued (see DeliveryJob.attempt).
   */
  async attempt(job: DeliveryJob): Promise<void> {
    const { deliveryId, attempt: expected, waitedMs = 0 } = job;
    const [queued] = await this.pool.run(GET, [deliveryId]);
    if (!queued || queued.status !== 'pending') return;
    if (expected !== undefined && queued.attempts !== expected) return;
    if (job.due !== undefined && queued.nextAttemptAt?.getTime() !== job.due) return;

    const target = this.callers.byId(queued.callerId)?.callback;
    const delivery = target ? await this.redirect(queued, target.url) : queued;
    if (!delivery) return;
    // The URL it goes to now: one a 410 disabled before the caller moved must not stop the new one.
    const [disabled] = await this.pool.run(IS_DISABLED, [delivery.callerId, delivery.url]);
    if (disabled) return this.settle(delivery, 'disabled', null, 'the receiver answered 410 Gone earlier');
    if (!target) return this.settle(delivery, 'dead', null, 'the caller no longer has a callback URL');

    const attempts = delivery.attempts + 1;
    let status: number | null = null;
    let error: string | null = null;
    let retryAfterMs: number | undefined;
    try {
      const response = await this.send(delivery, target);
      status = response.status;
      retryAfterMs = response.retryAfterMs();
    } catch (failure: unknown) {
      // Nothing was sent (the receiver's origin failed for other deliveries): not one of this delivery's attempts.
      if (failure instanceof CircuitOpenError) return this.putOff(delivery, failure, job);
      // The receiver answered; only its body (which no one reads) was longer than we take: its status is the answer.
      if (failure instanceof OutboundResponseTooLargeError) status = failure.status;
      else error = loggableErrorText(failure);
      if (isForbidden(failure)) {
        return this.settle({ ...delivery, attempts }, 'dead', null, error, delivery.attempts);
      }
    }

    const verdict = status === null ? { kind: 'retry' as const } : verdictFor(status, retryAfterMs);
    const updated = { ...delivery, attempts };
    if (verdict.kind === 'delivered') return this.settle(updated, 'delivered', status, null, delivery.attempts);
    if (verdict.kind === 'disable') {
      await this.pool.run(DISABLE_URL, [delivery.callerId, delivery.url]);
      this.logger.warn(`Callback URL of caller ${delivery.callerId} answered 410 Gone: disabled`);
      return this.settle(updated, 'disabled', status, 'the receiver answered 410 Gone', delivery.attempts);
    }
    const reason = error ?? `the receiver answered HTTP ${status}`;
    if (verdict.kind === 'dead') return this.settle(updated, 'dead', status, reason, delivery.attempts);

    const { callbackRetryDelaysMs: schedule, callbackRetryHorizonMs: horizonMs } = this.config.async;
    const limitMs = retryWaitLimitMs(schedule, horizonMs);
    const wait = nextRetryWait(schedule, attempts, waitedMs, limitMs, verdict.retryAfterMs);
    if (wait === undefined) {
      return this.settle(updated, 'dead', status, `${reason}; no attempts left`, delivery.attempts);
    }
    const nextAt = new Date(Date.now() + wait);
    const queue = await this.queues.forCaller(delivery.callerId);
    await this.pool.transaction(async (tx) => {
      const error = reason.slice(0, ERROR_LIMIT);
      if ((await tx.run(RETRY_LATER, [delivery.id, attempts, status, error, nextAt, delivery.attempts])).length === 0) {
        return;
      }
      await this.queue.send(
        queue,
        {
          deliveryId: delivery.id,
          attempt: attempts,
          waitedMs: waitedMs + wait,
          due: nextAt.getTime(),
        } satisfies DeliveryJob,
        { startAfter: nextAt },
        tx,
      );
    });
    this.metrics?.callbackDelivery('retry');
  }

  /**
   * Tries again once the receiver's circuit lets a call through, the attempt count unchanged, each time a step
   * further along the schedule (every delivery to a dead origin re-ran every 10 s: the job table and the lanes
   * healthy receivers need filled up), and within the delivery's wait limit like a real attempt.
   */
  private async putOff(delivery: DeliveryRow, refusal: CircuitOpenError, job: DeliveryJob): Promise<void> {
    const { callbackRetryDelaysMs: schedule, callbackRetryHorizonMs: horizonMs } = this.config.async;
    const refusals = (job.refusals ?? 0) + 1;
    const step = retryDelay(schedule, Math.min(delivery.attempts + refusals, schedule.length)) ?? 0;
    const wait = Math.max(refusal.halfOpensWithinMs ?? 0, step);
    const waitedMs = (job.waitedMs ?? 0) + wait;
    const reason = `not sent: ${refusal.message}`;
    if (waitedMs > retryWaitLimitMs(schedule, horizonMs)) {
      return this.settle(delivery, 'dead', delivery.lastStatus, `${reason}; no attempts left`);
    }
    const nextAt = new Date(Date.now() + wait);
    const { attempts } = delivery;
    const queue = await this.queues.forCaller(delivery.callerId);
    await this.pool.transaction(async (tx) => {
      const values = [
        delivery.id,
        attempts,
        delivery.lastStatus,
        reason.slice(0, ERROR_LIMIT),
        nextAt,
        attempts,
      ] as const;
      if ((await tx.run(RETRY_LATER, [...values])).length === 0) return;
      const next: DeliveryJob = {
        deliveryId: delivery.id,
        attempt: attempts,
        waitedMs,
        due: nextAt.getTime(),
        refusals,
      };
      await this.queue.send(queue, next, { startAfter: nextAt }, tx);
    });
  }

  /**
   * A delivery whose attempt failed inside the service every time its job ran (the database refusing its writes,
   * its replica dying mid-attempt) would stay pending with no job left to attempt it: it is dead instead, with
   * the reason, where operators look for deliveries to replay. A stale copy (its attempt number is not the
   * delivery's) leaves the delivery to the job that is live.
   */
  async giveUp(job: FailedDeliveryJob, output?: unknown): Promise<void> {
    const [delivery] = await this.pool.run(GET, [job.deliveryId]);
    if (!delivery || delivery.status !== 'pending') return;
    if (job.attempt !== undefined && delivery.attempts !== job.attempt) return;
    const runs = DELIVERY_JOB_RETRIES + 1;
    const reason = `the service could not finish an attempt (${runs} tries; the last: ${job.failure ?? failureOf(output)})`;
    return this.settle(delivery, 'dead', null, reason);
  }

  /**
   * Gives the delivery up, or, when that fails too (the same database trouble), tries again later in a job of its
   * own with the queue's settings: pg-boss's dead-letter copy has none of them (no retry delay, a 15-minute
   * expiry), so its retries all ran at once and the delivery stayed pending with no job, for ever.
   */
  private async giveUpOrPostpone(job: FailedDeliveryJob, output: unknown): Promise<void> {
    try {
      await this.giveUp(job, output);
    } catch (error: unknown) {
      const postponed = (job.postponed ?? 0) + 1;
      const delayMs = Math.min(GIVE_UP_RETRY_MAX_MS, 5_000 * 2 ** Math.min(postponed - 1, 10));
      const next: FailedDeliveryJob = { ...job, failure: job.failure ?? failureOf(output), postponed };
      await this.queue.send(FAILED_DELIVERY_QUEUE, next, {
        startAfter: new Date(Date.now() + delayMs),
        retryLimit: FAILED_DELIVERY_SETTINGS.retryLimit,
        retryDelay: FAILED_DELIVERY_SETTINGS.retryDelaySeconds,
        expireInSeconds: FAILED_DELIVERY_SETTINGS.expireInSeconds,
      });
      this.logger.warn(
        `Could not give delivery ${job.deliveryId} up (tried again in ${delayMs} ms): ${loggableErrorText(error)}`,
      );
    }
  }

  /**
   * The delivery as it goes to `url`, the caller's callback URL now: when the caller moved since the delivery was
   * queued, the new URL is stored first (where it is sent, and what a 410 disables or a replay enables). Undefined
   * when another run of the attempt came first (a stale copy).
   */
  private async redirect(delivery: DeliveryRow, url: string): Promise<DeliveryRow | undefined> {
    if (delivery.url === url) return delivery;
    const [redirected] = await this.pool.run(REDIRECT, [delivery.id, url, delivery.attempts]);
    if (!redirected) return undefined;
    this.logger.log(
      `Callback ${delivery.id} for caller ${delivery.callerId} goes to its new callback URL ${redactUrl(url)} ` +
        `(it was queued for ${redactUrl(delivery.url)})`,
    );
    return { ...delivery, url };
  }

  /** Sends to the delivery's URL (the caller's current one, see `redirect`), signed with the caller's secrets now. */
  private async send(delivery: DeliveryRow, target: CallbackTarget) {
    const url = assertUrlAllowed(delivery.url, target.allowPrivateNetwork);
    const body = Buffer.from(delivery.payload, 'utf8');
    const timestampSeconds = Math.floor(Date.now() / 1000);
    const signature = target.secrets
      .map((secret) => signStandardWebhook({ webhookId: delivery.id, timestampSeconds, rawBody: body, secret }))
      .join(' ');
    return this.http.request({
      method: 'POST',
      url,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'webhook-fulfillment-callbacks',
        'webhook-id': delivery.id,
        'webhook-timestamp': String(timestampSeconds),
        'webhook-signature': signature,
      },
      body,
      timeoutMs: this.config.async.callbackTimeoutMs,
      // Retries are this service's schedule, not the client's: one attempt per job.
      retries: 0,
      maxResponseBytes: CALLBACK_RESPONSE_BYTES,
      breaker: `callback:${url.origin}`,
      dispatcher: this.agentFor(target.allowPrivateNetwork),
    });
  }

  private agentFor(allowPrivateNetwork: boolean): Agent {
    let agent = this.agents.get(allowPrivateNetwork);
    if (!agent) {
      agent = createGuardedAgent({ allowPrivateNetwork });
      this.agents.set(allowPrivateNetwork, agent);
    }
    return agent;
  }

  /** Settles from `before` attempts (the count the attempt read) to `delivery.attempts`. */
  private async settle(
    delivery: Pick<DeliveryRow, 'id' | 'attempts' | 'callerId'>,
    status: Exclude<DeliveryStatus, 'pending'>,
    httpStatus: number | null,
    error: string | null,
    before = delivery.attempts,
  ): Promise<void> {
    await this.pool.run(SETTLE, [
      delivery.id,
      status,
      delivery.attempts,
      httpStatus,
      error?.slice(0, ERROR_LIMIT) ?? null,
      before,
    ]);
    this.metrics?.callbackDelivery(status);
    if (status === 'dead') {
      this.logger.error(
        `Callback ${delivery.id} for caller ${delivery.callerId} is dead after ${delivery.attempts} attempt(s): ${error}`,
      );
    }
  }
}

/** The message of a failed job's output: ours (`{message}`), or pg-boss's for an expired run (`{value: {message}}`). */
function failureOf(output: unknown): string {
  const value = output as { message?: unknown; value?: { message?: unknown } } | null | undefined;
  const message = value?.message ?? value?.value?.message;
  return typeof message === 'string' ? message : 'unknown';
}

/** An SSRF refusal will not change on retry: the delivery is dead at once. */
function isForbidden(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 4; depth += 1) {
    if (current instanceof ForbiddenAddressError || current instanceof ForbiddenUrlError) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
