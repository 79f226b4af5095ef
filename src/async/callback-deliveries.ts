import { Injectable, Logger, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import type { Agent } from 'undici';
import { CallerRegistry } from '../auth/callers/caller-registry';
import type { CallbackTarget } from '../auth/callers/caller';
import { signStandardWebhook } from '../auth/hmac/standard-webhooks';
import { AppConfig } from '../config';
import { DatabasePool } from '../database/database-pool';
import { Metrics } from '../observability/metrics';
import {
  assertUrlAllowed,
  createGuardedAgent,
  ForbiddenAddressError,
  ForbiddenUrlError,
  OutboundHttpClient,
} from '../outbound';
import { retryDelay, verdictFor } from './callback-outcome';
import type { DeliveryStatus } from './callback-delivery.entity';
import type { StoredFulfillment } from './fulfillment-record.entity';
import { JobQueue } from './job-queue';

export const DELIVERY_QUEUE = 'callback-delivery';

interface DeliveryJob {
  readonly deliveryId: string;
}

export interface DeliveryRow {
  id: string;
  fulfillment_id: string;
  caller_id: string;
  url: string;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: Date | null;
  created_at: Date;
  delivered_at: Date | null;
}

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

/**
 * Sends finished work to the caller's callback URL, signed the Standard Webhooks way, with the same
 * `webhook-id` on every attempt; retries on the configured schedule (with jitter, honouring `Retry-After`),
 * and moves a delivery that cannot succeed to the dead-letter state, from which it can be replayed.
 */
@Injectable()
export class CallbackDeliveries implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(CallbackDeliveries.name);
  private readonly agents = new Map<boolean, Agent>();

  constructor(
    private readonly pool: DatabasePool,
    private readonly queue: JobQueue,
    private readonly callers: CallerRegistry,
    private readonly http: OutboundHttpClient,
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  onModuleInit(): void {
    this.queue.work<DeliveryJob>(
      {
        name: DELIVERY_QUEUE,
        expireInSeconds: Math.ceil(this.config.async.callbackTimeoutMs / 1000) + 30,
        retryLimit: 5,
        retryDelaySeconds: 5,
      },
      (job) => this.attempt(job.data.deliveryId),
    );
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.agents.values()].map((agent) => agent.close()));
  }

  /** Queues the delivery of a finished fulfillment when its caller has a callback URL. */
  async enqueue(fulfillment: StoredFulfillment, transaction?: PoolClient): Promise<string | undefined> {
    const target = this.callers.byId(fulfillment.callerId)?.callback;
    if (!target) return undefined;
    const id = `msg_${randomUUID().replaceAll('-', '')}`;
    const write = async (client: PoolClient): Promise<void> => {
      await client.query(
        `INSERT INTO callback_deliveries (id, fulfillment_id, caller_id, url, payload, status, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', now())`,
        [id, fulfillment.id, fulfillment.callerId, target.url, callbackPayload(fulfillment)],
      );
      await this.queue.send(DELIVERY_QUEUE, { deliveryId: id } satisfies DeliveryJob, {}, client);
    };
    await (transaction ? write(transaction) : this.pool.transaction(write));
    return id;
  }

  /** One attempt; the job itself always completes, the next attempt is a new job scheduled for later. */
  async attempt(deliveryId: string): Promise<void> {
    const [delivery] = await this.pool.query<DeliveryRow>(
      'deliveries_get',
      `SELECT * FROM callback_deliveries WHERE id = $1`,
      [deliveryId],
    );
    if (!delivery || delivery.status !== 'pending') return;

    const [disabled] = await this.pool.query(
      'deliveries_disabled',
      `SELECT 1 FROM disabled_callbacks WHERE caller_id = $1 AND url = $2`,
      [delivery.caller_id, delivery.url],
    );
    if (disabled) return this.settle(delivery, 'disabled', null, 'the receiver answered 410 Gone earlier');

    const target = this.callers.byId(delivery.caller_id)?.callback;
    if (!target || target.url !== delivery.url) {
      return this.settle(delivery, 'dead', null, 'the caller no longer has this callback URL');
    }

    const attempts = delivery.attempts + 1;
    let status: number | null = null;
    let error: string | null = null;
    let retryAfterMs: number | undefined;
    try {
      const response = await this.send(delivery, target);
      status = response.status;
      retryAfterMs = response.retryAfterMs();
    } catch (failure: unknown) {
      error = describe(failure);
      if (isForbidden(failure)) {
        return this.settle({ ...delivery, attempts }, 'dead', null, error);
      }
    }

    const verdict = status === null ? { kind: 'retry' as const } : verdictFor(status, retryAfterMs);
    const updated = { ...delivery, attempts };
    if (verdict.kind === 'delivered') return this.settle(updated, 'delivered', status, null);
    if (verdict.kind === 'disable') {
      await this.pool.query(
        'deliveries_disable_url',
        `INSERT INTO disabled_callbacks (caller_id, url) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
        [delivery.caller_id, delivery.url],
      );
      this.logger.warn(`Callback URL of caller ${delivery.caller_id} answered 410 Gone: disabled`);
      return this.settle(updated, 'disabled', status, 'the receiver answered 410 Gone');
    }
    const reason = error ?? `the receiver answered HTTP ${status}`;
    if (verdict.kind === 'dead') return this.settle(updated, 'dead', status, reason);

    const delay = retryDelay(this.config.async.callbackRetryDelaysMs, attempts, verdict.retryAfterMs);
    if (delay === undefined) return this.settle(updated, 'dead', status, `${reason}; no attempts left`);
    const nextAt = new Date(Date.now() + delay);
    await this.pool.transaction(async (client) => {
      await client.query(
        `UPDATE callback_deliveries SET attempts = $2, last_status = $3, last_error = $4, next_attempt_at = $5,
           updated_at = now() WHERE id = $1 AND status = 'pending'`,
        [delivery.id, attempts, status, reason.slice(0, ERROR_LIMIT), nextAt],
      );
      await this.queue.send(
        DELIVERY_QUEUE,
        { deliveryId: delivery.id } satisfies DeliveryJob,
        { startAfter: nextAt },
        client,
      );
    });
    this.metrics?.callbackDelivery('retry');
  }

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

  private async settle(
    delivery: Pick<DeliveryRow, 'id' | 'attempts' | 'caller_id'>,
    status: Exclude<DeliveryStatus, 'pending'>,
    httpStatus: number | null,
    error: string | null,
  ): Promise<void> {
    await this.pool.query(
      'deliveries_settle',
      `UPDATE callback_deliveries SET status = $2::varchar, attempts = $3, last_status = $4, last_error = $5,
         next_attempt_at = NULL, updated_at = now(), delivered_at = CASE WHEN $2::varchar = 'delivered' THEN now() END
       WHERE id = $1 AND status = 'pending'`,
      [delivery.id, status, delivery.attempts, httpStatus, error?.slice(0, ERROR_LIMIT) ?? null],
    );
    this.metrics?.callbackDelivery(status);
    if (status === 'dead') {
      this.logger.error(
        `Callback ${delivery.id} for caller ${delivery.caller_id} is dead after ${delivery.attempts} attempt(s): ${error}`,
      );
    }
  }
}

/** An SSRF refusal will not change on retry: the delivery is dead at once. */
function isForbidden(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 4; depth += 1) {
    if (current instanceof ForbiddenAddressError || current instanceof ForbiddenUrlError) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
