import { ApiOperation } from '@nestjs/swagger';
import { Controller, Get } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { JobQueue } from '../../async/job-queue';
import { DatabasePool } from '../../database/database-pool';
import { ReadReplicas, type ReplicaState } from '../../database/replicas/read-replicas';

/** The service's readiness as its probe reports it (terminus's `status` and the checks' details). */
export interface ReadinessReport {
  readonly status: 'ok' | 'error';
  readonly details: Readonly<Record<string, unknown>>;
}

/** How the console reads the service's readiness (the composition root wires it to the health module's). */
export abstract class ServiceReadiness {
  abstract report(): Promise<ReadinessReport>;
}

/** A health page must answer even when the job queue's database does not. */
const QUEUE_SIZES_TIMEOUT_MS = 2_000;

export interface HealthView {
  readonly readiness: ReadinessReport;
  readonly pool?: { inUse: number; idle: number; waiting: number };
  /** Jobs waiting per queue; absent when they could not be read in time. */
  readonly queues?: { queue: string; size: number }[];
  readonly replicas: ReplicaState[];
}

/** This replica's health at a glance: readiness checks (certificate days left among them), pool, queues, replicas. */
@Controller('api/health')
export class ConsoleHealthController {
  constructor(
    private readonly readiness: ServiceReadiness,
    private readonly pool: DatabasePool,
    private readonly jobs: JobQueue,
    private readonly replicas: ReadReplicas,
  ) {}

  @ApiOperation({ summary: "This replica's readiness checks, certificates, pool use, job queues and read replicas" })
  @Get()
  async health(): Promise<HealthView> {
    const timeout = new AbortController();
    const [readiness, queues] = await Promise.all([
      this.readiness.report(),
      Promise.race([
        this.jobs.queueSizes(),
        sleep(QUEUE_SIZES_TIMEOUT_MS, undefined, { signal: timeout.signal }).catch(() => undefined),
      ]).catch(() => undefined),
    ]);
    timeout.abort();
    return { readiness, pool: this.pool.connectionCounts(), queues, replicas: this.replicas.states() };
  }
}
