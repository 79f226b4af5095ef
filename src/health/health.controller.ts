import { Controller, Get } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { JobQueue } from '../async/job-queue';
import { DatabaseAvailability } from '../database/database-availability';
import { Readiness } from './readiness';

/**
 * Kubernetes probes, unauthenticated and cheap. Liveness only says the process answers (a lost database
 * must not get pods restarted); readiness says whether to send traffic: not while shutting down, not
 * without PostgreSQL, not without the job queue.
 */
@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly readiness: Readiness,
    private readonly database: DatabaseAvailability,
    private readonly jobs: JobQueue,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([
      () => this.indicators.check('process').up({ uptimeSeconds: Math.round(process.uptime()) }),
    ]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => {
        const session = this.indicators.check('shutdown');
        return this.readiness.draining ? session.down({ message: 'shutting down' }) : session.up();
      },
      async () => {
        const session = this.indicators.check('database');
        return (await this.database.check()) ? session.up() : session.down({ message: 'PostgreSQL is unreachable' });
      },
      () => {
        const session = this.indicators.check('jobQueue');
        return this.jobs.isRunning ? session.up() : session.down({ message: 'the job queue is not running' });
      },
    ]);
  }
}
