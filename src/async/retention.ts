import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DatabasePool } from '../database/database-pool';
import { IdempotencyStore } from '../idempotency/idempotency.store';
import { JobQueue } from './job-queue';

export const RETENTION_QUEUE = 'retention';
const BATCH = 5000;

/**
 * Purges expired idempotency records, expired results and settled deliveries older than a week, every
 * ten minutes, on one replica at a time (a pg-boss schedule).
 */
@Injectable()
export class Retention implements OnModuleInit {
  private readonly logger = new Logger(Retention.name);

  constructor(
    private readonly queue: JobQueue,
    private readonly idempotency: IdempotencyStore,
    private readonly pool: DatabasePool,
  ) {}

  onModuleInit(): void {
    this.queue.work({ name: RETENTION_QUEUE, expireInSeconds: 600, retryLimit: 0, retryDelaySeconds: 0 }, () =>
      this.purge().then(() => undefined),
    );
    this.queue.schedule(RETENTION_QUEUE, '*/10 * * * *');
  }

  /** Returns how many rows each table lost. */
  async purge(): Promise<{ idempotency: number; fulfillments: number; deliveries: number }> {
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
