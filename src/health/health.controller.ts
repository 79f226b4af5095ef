import { Controller, Get } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../config';
import { DatabaseAvailability } from '../database/database-availability';
import { ReadReplicas } from '../database/replicas/read-replicas';
import { Readiness } from './readiness';

/**
 * Kubernetes probes, unauthenticated and cheap. Liveness only says the process answers (a lost database
 * must not get pods restarted); readiness shows each of Readiness's rules (gRPC health answers the same): with
 * DEGRADED_MODE=reply (the default) a replica without PostgreSQL stays ready, since the degraded reply is what the
 * bot should get. Read replicas are reported (up, lag) but never make a replica unready: the primary answers
 * their reads meanwhile.
 */
@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly readiness: Readiness,
    private readonly database: DatabaseAvailability,
    private readonly config: AppConfig,
    private readonly replicas: ReadReplicas,
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
        const session = this.indicators.check('listening');
        return this.readiness.listening ? session.up() : session.down({ message: 'starting: not listening yet' });
      },
      () => {
        const session = this.indicators.check('shutdown');
        return this.readiness.draining ? session.down({ message: 'shutting down' }) : session.up();
      },
      async () => {
        const session = this.indicators.check('database');
        if (this.readiness.answersWithoutDatabase) {
          // With the polite reply, a replica without PostgreSQL still answers every turn usefully: keeping it in
          // the Service is what gets that reply to the bot (out of it, the platform gets connection errors). Ready
          // either way, so the answer is the state as last probed, at once (a black-holed database would hold it
          // for the probe's timeout), and a probe refreshes it for the next one.
          void this.database.check();
          return this.database.isAvailable
            ? session.up()
            : session.up({ reachable: false, message: 'PostgreSQL is unreachable: turns get the degraded reply' });
        }
        return (await this.database.check()) ? session.up() : session.down({ message: 'PostgreSQL is unreachable' });
      },
      () => {
        const session = this.indicators.check('jobQueue');
        return this.readiness.jobQueueRunning
          ? session.up()
          : session.down({ message: 'the job queue is not running' });
      },
      () => {
        const session = this.indicators.check('memory');
        const { ok, ...heap } = this.readiness.heap();
        return ok ? session.up(heap) : session.down({ message: 'heap above HEALTH_HEAP_LIMIT_MB', ...heap });
      },
      () => {
        const session = this.indicators.check('certificate');
        const checked = this.readiness.certificate();
        if (!checked) return session.up({ message: 'no TLS of its own' });
        return checked.ok
          ? session.up({ expiresAt: checked.expiresAt, daysLeft: checked.daysLeft })
          : session.down({
              message: checked.reason,
              ...(checked.expiresAt && { expiresAt: checked.expiresAt, daysLeft: checked.daysLeft }),
            });
      },
      () => {
        const session = this.indicators.check('readReplicas');
        if (!this.replicas.configured) return session.up({ configured: 0 });
        // Unauthenticated, and on the public port: by position in DATABASE_REPLICA_URLS (a secret), not by host, and
        // without the driver's error text (a user name, an internal host); the log line and the metrics name them.
        const states = this.replicas.states().map(({ readable, lagMs }, index) => ({
          replica: index + 1,
          readable,
          lagMs,
        }));
        return session.up({ maxLagMs: this.config.database.replicas.maxLagMs, replicas: states });
      },
    ]);
  }
}
