import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { JobQueue } from '../async/job-queue';
import { DatabasePool } from '../database/database-pool';
import { Metrics } from './metrics';

/** A scrape must not hang on a slow database: the queue depth is left out of that scrape instead. */
const QUEUE_SIZE_TIMEOUT_MS = 2_000;

/** Gauges read when Prometheus scrapes: jobs waiting per pg-boss queue and the pg pool's connections. */
@Injectable()
export class ResourceGauges implements OnModuleInit {
  private readonly logger = new Logger('Metrics');

  constructor(
    private readonly metrics: Metrics,
    private readonly jobs: JobQueue,
    private readonly pool: DatabasePool,
  ) {}

  onModuleInit(): void {
    const { meter } = this.metrics;
    meter
      .createObservableGauge('job_queue_depth', { description: 'Jobs waiting (queued or to be retried) per queue' })
      .addCallback(async (result) => {
        for (const { queue, size } of await this.queueSizes()) result.observe(size, { queue });
      });
    meter
      .createObservableGauge('db_pool_connections', {
        description: 'PostgreSQL pool connections in use and idle, and callers waiting for one',
      })
      .addCallback((result) => {
        const counts = this.pool.connectionCounts();
        if (!counts) return;
        result.observe(counts.inUse, { state: 'in_use' });
        result.observe(counts.idle, { state: 'idle' });
        result.observe(counts.waiting, { state: 'waiting' });
      });
  }

  private async queueSizes(): Promise<{ queue: string; size: number }[]> {
    const timeout = new AbortController();
    try {
      return await Promise.race([this.jobs.queueSizes(), sleep(QUEUE_SIZE_TIMEOUT_MS, [], { signal: timeout.signal })]);
    } catch (error: unknown) {
      this.logger.warn(`Could not read the job queue sizes: ${String(error)}`);
      return [];
    } finally {
      timeout.abort();
    }
  }
}
