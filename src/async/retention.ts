import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { type ExpiringRows, PurgesExpiredRows, purgeInBatches } from '../common/retention';
import { AppConfig } from '../config';
import { DatabasePool } from '../database/database-pool';
import { sql } from '../database/sql';
import { AsyncFulfillments, asyncGiveUpSeconds } from './async-fulfillments';
import type { FulfillmentMode } from './fulfillment-record.entity';
import { FulfillmentResults } from './fulfillment-results';
import { JobQueue } from './job-queue';

export const RETENTION_QUEUE = 'retention';

const ABANDONED = sql<{ id: string; mode: FulfillmentMode }, [asyncSeconds: number, lateSeconds: number]>(
  'retention_abandoned',
  `SELECT id, mode FROM fulfillments WHERE status IN ('queued', 'running') AND (
     (mode = 'async' AND created_at < now() - make_interval(secs => $1::double precision)) OR
     (mode = 'deferred' AND created_at < now() - make_interval(secs => $2::double precision)))`,
);

const PURGE_RESULTS = sql<{ purged: 1 }, [limit: number]>(
  'retention_fulfillments',
  `DELETE FROM fulfillments WHERE id IN (SELECT id FROM fulfillments WHERE expires_at < now() LIMIT $1)
   RETURNING 1 AS purged`,
);

const PURGE_DELIVERIES = sql<{ purged: 1 }, [limit: number]>(
  'retention_deliveries',
  `DELETE FROM callback_deliveries WHERE id IN (
     SELECT id FROM callback_deliveries
     WHERE (status = 'delivered' AND delivered_at < now() - interval '7 days')
        OR (status IN ('dead', 'disabled') AND updated_at < now() - interval '7 days') LIMIT $1)
   RETURNING 1 AS purged`,
);

/** Extra time before unfinished late work is declared lost, beyond its own limit. */
const ABANDON_MARGIN_SECONDS = 600;

/**
 * Every ten minutes, on one replica at a time (a pg-boss schedule): records work that can no longer finish
 * as failed (an async job whose last attempt died with its replica, late work of a replica that died), so
 * pollers and callbacks learn of it; then purges the expired rows of every `@PurgesExpiredRows` store (idempotency
 * records), expired results and deliveries settled (delivered, dead, or disabled) more than a week ago: each holds a
 * copy of its result, and a dead one is replayed within that week or not at all.
 */
@Injectable()
export class Retention implements OnModuleInit {
  private readonly logger = new Logger(Retention.name);

  private readonly stores: { name: string; rows: ExpiringRows }[] = [];

  constructor(
    private readonly queue: JobQueue,
    private readonly discovery: DiscoveryService,
    private readonly pool: DatabasePool,
    private readonly results: FulfillmentResults,
    private readonly asyncFulfillments: AsyncFulfillments,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders({ metadataKey: PurgesExpiredRows.KEY })) {
      const name = this.discovery.getMetadataByDecorator(PurgesExpiredRows, wrapper);
      if (name && wrapper.instance) this.stores.push({ name, rows: wrapper.instance as ExpiringRows });
    }
    this.queue.work({ name: RETENTION_QUEUE, expireInSeconds: 600, retryLimit: 0, retryDelaySeconds: 0 }, () =>
      this.purge().then(() => undefined),
    );
    this.queue.every(RETENTION_QUEUE, 600);
  }

  /**
   * Marks unfinished work past every limit as failed; returns the ids. An async turn is failed only once its job
   * can no longer run: one still running (it started late, after a wait in a backlog) would otherwise have its
   * effect behind a result that says it failed.
   */
  async failAbandoned(): Promise<string[]> {
    const asyncSeconds = asyncGiveUpSeconds(this.config.async);
    const lateSeconds = this.config.fulfillment.lateWorkTimeoutMs / 1000 + ABANDON_MARGIN_SECONDS;
    const candidates = await this.pool.run(ABANDONED, [asyncSeconds, lateSeconds]);
    const failed = { text: this.config.fulfillment.errorText, failed: true };
    const abandoned: string[] = [];
    for (const { id, mode } of candidates) {
      if (mode === 'async' && (await this.asyncFulfillments.jobMayStillRun(id))) continue;
      await this.results.finish(id, 'failed', failed);
      abandoned.push(id);
    }
    if (abandoned.length > 0) this.logger.warn(`Recorded ${abandoned.length} abandoned fulfillment(s) as failed`);
    return abandoned;
  }

  /** Returns how many rows each store lost, by name (`idempotency`, `fulfillments`, `deliveries`, …). */
  async purge(): Promise<Record<string, number>> {
    await this.failAbandoned();
    const counts: Record<string, number> = {};
    for (const { name, rows } of this.stores) counts[name] = await purgeInBatches((limit) => rows.purgeExpired(limit));
    const fulfillments = await purgeInBatches(async (limit) => (await this.pool.run(PURGE_RESULTS, [limit])).length);
    const deliveries = await purgeInBatches(async (limit) => (await this.pool.run(PURGE_DELIVERIES, [limit])).length);
    Object.assign(counts, { fulfillments, deliveries });
    const purged = Object.entries(counts).filter(([, count]) => count > 0);
    if (purged.length > 0) this.logger.log(`Purged ${purged.map(([name, count]) => `${count} ${name}`).join(', ')}`);
    return counts;
  }
}
