import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config';
import { DatabasePool } from '../database/database-pool';
import { IdempotencyStore } from '../idempotency/idempotency.store';
import { FulfillmentResults } from './fulfillment-results';
import { JobQueue } from './job-queue';

export const RETENTION_QUEUE = 'retention';
const BATCH = 5000;

/** Extra time before unfinished work is declared lost, beyond its own limits. */
const ABANDON_MARGIN_SECONDS = 600;

/**
 * Every ten minutes, on one replica at a time (a pg-boss schedule): records work that can no longer finish
 * as failed (an async job whose last attempt died with its replica, late work of a replica that died), so
 * pollers and callbacks learn of it; then purges expired idempotency records, expired results and settled
 * deliveries older than a week.
 */
@Injectable()
export class Retention implements OnModuleInit {
  private readonly logger = new Logger(Retention.name);

  constructor(
    private readonly queue: JobQueue,
    private readonly idempotency: IdempotencyStore,
    private readonly pool: DatabasePool,
    private readonly results: FulfillmentResults,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.queue.work({ name: RETENTION_QUEUE, expireInSeconds: 600, retryLimit: 0, retryDelaySeconds: 0 }, () =>
      this.purge().then(() => undefined),
    );
    this.queue.schedule(RETENTION_QUEUE, '*/10 * * * *');
  }

  /** Marks unfinished work past every limit as failed; returns the ids. */
  async failAbandoned(): Promise<string[]> {
    const { jobTimeoutMs, jobRetries } = this.config.async;
    const asyncSeconds = (jobTimeoutMs / 1000) * (jobRetries + 1) + ABANDON_MARGIN_SECONDS;
    const lateSeconds = this.config.fulfillment.lateWorkTimeoutMs / 1000 + ABANDON_MARGIN_SECONDS;
    const rows = await this.pool.query<{ id: string }>(
      'retention_abandoned',
      `SELECT id FROM fulfillments WHERE status IN ('queued', 'running') AND (
         (mode = 'async' AND created_at < now() - make_interval(secs => $1::double precision)) OR
         (mode = 'deferred' AND created_at < now() - make_interval(secs => $2::double precision)))`,
      [asyncSeconds, lateSeconds],
    );
    const failed = { text: this.config.fulfillment.errorText, failed: true };
    for (const { id } of rows) await this.results.finish(id, 'failed', failed);
    if (rows.length > 0) this.logger.warn(`Recorded ${rows.length} abandoned fulfillment(s) as failed`);
    return rows.map((row) => row.id);
  }

  /** Returns how many rows each table lost. */
  async purge(): Promise<{ idempotency: number; fulfillments: number; deliveries: number }> {
    await this.failAbandoned();
    let idempotency = 0;
    for (let purged = BATCH; purged === BATCH;) {
      purged = await this.idempotency.purgeExpired(BATCH);
      idempotency += purged;
    }
    const fulfillments = (
      await this.pool.query(
        'retention_fulfillments',
        `DELETE FROM fulfillments WHERE expires_at < now() RETURNING 1`,
        [],
      )
    ).length;
    const deliveries = (
      await this.pool.query(
        'retention_deliveries',
        `DELETE FROM callback_deliveries WHERE status = 'delivered' AND delivered_at < now() - interval '7 days' RETURNING 1`,
        [],
      )
    ).length;
    if (idempotency + fulfillments + deliveries > 0) {
      this.logger.log(`Purged ${idempotency} idempotency records, ${fulfillments} results, ${deliveries} deliveries`);
    }
    return { idempotency, fulfillments, deliveries };
  }
}
