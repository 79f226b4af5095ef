import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type Refusal, refusals } from '../common/http/http-error.filter';
import { AuditLog } from './audit-log';

/**
 * Audits refusals decided outside the authenticator and the rate limits, as published on `refusals`: by the
 * error filters (400, 405, 413, 415, idempotency conflicts), the SSRF guard (its blocks) and the HTTP server's
 * answer to requests its parser refuses (431 header too large, 400 malformed; see `answerClientErrors`).
 * Recording only queues a row: the response is never held up or changed by it.
 */
@Injectable()
export class RefusalAudit implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Audit');
  private app?: unknown;
  private readonly onRefusal = (message: unknown): void => this.receive(message as Refusal);

  constructor(
    private readonly audit: AuditLog,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {}

  onApplicationBootstrap(): void {
    const adapter = this.adapterHost?.httpAdapter;
    this.app = adapter?.getInstance?.();
    refusals.subscribe(this.onRefusal);
  }

  onApplicationShutdown(): void {
    refusals.unsubscribe(this.onRefusal);
  }

  private receive(refusal: Refusal): void {
    // Another application in this process answered it (tests boot several); events outside HTTP carry none.
    if (refusal.app !== undefined && refusal.app !== this.app) return;
    try {
      this.audit.record({
        event: refusal.event,
        outcome: 'failure',
        reason: refusal.reason,
        route: refusal.route,
        callerId: refusal.callerId,
        remoteAddress: refusal.remoteAddress,
        requestId: refusal.requestId,
        detail: refusal.detail,
      });
    } catch (error: unknown) {
      // A subscriber's exception would be rethrown by diagnostics_channel as an uncaught one: never let it.
      this.logger.error(`Could not audit a refusal: ${String(error)}`);
    }
  }
}
