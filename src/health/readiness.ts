import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:net';
import { JobQueue } from '../async/job-queue';
import { AppConfig } from '../config';
import { DatabaseAvailability } from '../database/database-availability';
import { ServedCertificate } from '../observability/served-certificate';
import { type CertificateCheck, checkCertificateExpiry } from './certificate-expiry';

export interface HeapCheck {
  readonly ok: boolean;
  readonly heapUsedMiB: number;
  readonly limitMiB: number;
}

/** How long a look at the certificate holds: gRPC health Watch asks four times a second. */
const CERTIFICATE_LOOK_MS = 10_000;
/** How often gRPC health Watch has PostgreSQL checked, at most (it looks at readiness four times a second). */
const DATABASE_LOOK_MS = 1_000;

/**
 * The service's own view of whether it should get traffic, one set of rules for HTTP `/health/ready` and gRPC
 * health: not before the service's port listens, not from the moment SIGTERM arrives (so the load balancer stops sending before connections are refused;
 * from then on every response also ends its keep-alive connection, `Connection: close`), not without PostgreSQL
 * unless turns are answered without it, not without the job queue, not with the heap above HEALTH_HEAP_LIMIT_MB,
 * not with a serving certificate that has expired or expires within HEALTH_CERT_MIN_DAYS (default 0: every replica
 * serves the same certificate, so all would leave the Service together while it still works).
 */
@Injectable()
export class Readiness {
  private drainingSince?: number;
  private certificateLook?: { readonly at: number; readonly check: CertificateCheck };
  private databaseLookedAt = 0;

  constructor(
    private readonly database: DatabaseAvailability,
    private readonly config: AppConfig,
    private readonly jobs: JobQueue,
    private readonly served: ServedCertificate,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** Traffic is welcome (gRPC health's SERVING): every rule holds, PostgreSQL as last seen. */
  get serving(): boolean {
    return (
      this.listening &&
      !this.draining &&
      (this.database.isAvailable || this.answersWithoutDatabase) &&
      this.jobs.isRunning &&
      this.heap().ok &&
      (this.certificate()?.ok ?? true)
    );
  }

  /**
   * `serving`, with PostgreSQL checked now when losing it makes the replica unready (DEGRADED_MODE=503), as HTTP
   * /health/ready checks it: otherwise an idle replica (no turn to fail) kept answering SERVING through an outage.
   * One round trip, bounded by the probe's timeout and shared by the checks asking at once.
   */
  async checkServing(): Promise<boolean> {
    if (this.databaseDecides) {
      this.databaseLookedAt = Date.now();
      await this.database.check();
    }
    return this.serving;
  }

  /**
   * `serving` as last seen, for a frequent look (gRPC health Watch): in DEGRADED_MODE=503 it has PostgreSQL checked
   * again (at most every DATABASE_LOOK_MS, not waited for), so that a change shows in a later look.
   */
  servingAsLastSeen(now = Date.now()): boolean {
    if (this.databaseDecides && now - this.databaseLookedAt >= DATABASE_LOOK_MS) {
      this.databaseLookedAt = now;
      void this.database.check();
    }
    return this.serving;
  }

  /** DEGRADED_MODE=reply: without PostgreSQL each turn still gets the platform-shaped "temporarily unavailable". */
  get answersWithoutDatabase(): boolean {
    return this.config.degraded.mode === 'reply';
  }

  /**
   * The service's own port takes connections. The probe port starts with the application, before it: answering
   * ready then sent traffic to a port that refused it while start-up went on.
   */
  get listening(): boolean {
    return (this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined)?.listening === true;
  }

  /** PostgreSQL's state can make the replica unready, and nothing else already does (draining). */
  private get databaseDecides(): boolean {
    return !this.answersWithoutDatabase && !this.draining;
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  get jobQueueRunning(): boolean {
    return this.jobs.isRunning;
  }

  startDraining(): void {
    this.drainingSince ??= Date.now();
  }

  heap(): HeapCheck {
    const limitBytes = this.config.observability.heapLimitBytes;
    const usedBytes = process.memoryUsage().heapUsed;
    return {
      ok: usedBytes <= limitBytes,
      heapUsedMiB: Math.round(usedBytes / 1048576),
      limitMiB: Math.round(limitBytes / 1048576),
    };
  }

  /** The serving certificate's check (read again at most every 10 s), or undefined without TLS of its own. */
  certificate(now = Date.now()): CertificateCheck | undefined {
    const tls = this.config.tls;
    if (!tls) return undefined;
    const look = this.certificateLook;
    if (look && now - look.at < CERTIFICATE_LOOK_MS && (!look.check.ok || now < Date.parse(look.check.expiresAt))) {
      return look.check;
    }
    // The certificate the listeners serve; its file only before they have one.
    const certificate = this.served.notAfter ?? tls.certFile;
    const check = checkCertificateExpiry(certificate, this.config.observability.certificateMinDays, now);
    this.certificateLook = { at: now, check };
    return check;
  }
}
