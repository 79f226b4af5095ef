import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationShutdown,
  OnModuleInit,
  Optional,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { addressLimitKey, normaliseAddress } from '../common/net/client-address';
import { purgeInBatches } from '../common/retention';
import { AppConfig } from '../config';
import { Metrics } from '../observability/metrics';
import { AuditEvent } from './audit-event.entity';
import { SourceBudget } from './source-budget';

/**
 * Event names from the OWASP Logging Vocabulary, plus sys_config_reload* and malicious_ssrf, which it has no
 * name for (the latter in its `malicious_*` family). `sequence_fail` is an idempotency conflict: a duplicate
 * delivery while the first still runs, or a turn id / webhook-id reused for another body.
 */
export type AuditEventName =
  | 'authn_login_fail'
  | 'authn_login_success'
  | 'authz_admin'
  | 'authn_token_reuse'
  | 'authz_fail'
  | 'excess_rate_limit_exceeded'
  | 'input_validation_fail'
  | 'malicious_ssrf'
  | 'sequence_fail'
  | 'sys_config_reload'
  | 'sys_config_reload_fail';

const AUTH_FAILURES: ReadonlySet<AuditEventName> = new Set(['authn_login_fail', 'authn_token_reuse', 'authz_fail']);
/** What people do in the operator console (`authz_admin`: an action; logins): always written. */
const UNBUDGETED: ReadonlySet<AuditEventName> = new Set(['authz_admin', 'authn_login_success']);

export interface AuditRecord {
  readonly event: AuditEventName;
  readonly callerId?: string;
  readonly method?: string;
  readonly outcome: 'failure' | 'success';
  readonly reason?: string;
  readonly remoteAddress?: string;
  readonly requestId?: string;
  readonly traceId?: string;
  readonly detail?: string;
  /** The refused route: method and path (no query string), or the gRPC method path. */
  readonly route?: string;
}

/** The reason of the row that reports what a source's budget dropped in one window. */
export const SUPPRESSED_REASON = 'audit-suppressed';

const FLUSH_INTERVAL_MS = 500;
const FLUSH_BATCH = 200;
const MAX_QUEUE = 10_000;
/** The longest shutdown waits for the last rows: a database that does not answer must not hold the exit. */
const SHUTDOWN_FLUSH_MS = 5000;
/** While the queue overflows, one log line this often says how many rows were lost (not a line per row). */
const LOST_LOG_INTERVAL_MS = 10_000;
const PURGE_INTERVAL_MS = 6 * 60 * 60 * 1000;
/** One batch of rows past retention; counted in a SELECT, whose result TypeORM hands back as rows. */
const PURGE = `WITH purged AS (
    DELETE FROM audit_events WHERE id IN (
      SELECT id FROM audit_events WHERE occurred_at < now() - make_interval(days => $1) LIMIT $2)
    RETURNING 1)
  SELECT count(*)::int AS purged FROM purged`;

/** Control characters (CR/LF included) are replaced so a field can never forge a log line or row. */
export function clean(value: string | undefined, maxLength: number): string | null {
  if (value === undefined || value === '') return null;
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const safe = value.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, '?');
  return safe.length > maxLength ? `${safe.slice(0, maxLength - 1)}…` : safe;
}

/**
 * Records security events without slowing requests: events are queued and written in batches, and the
 * queue is flushed on shutdown. Rows older than the retention period are deleted.
 */
@Injectable()
export class AuditLog implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Audit');
  private queue: AuditEvent[] = [];
  private timer?: NodeJS.Timeout;
  private purgeTimer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  /** A write queued behind the one under way, not started yet: it takes every row queued by the time it starts. */
  private nextWrite?: Promise<void>;
  private readonly budget: SourceBudget;
  private readonly countDropped?: (attributes: { event: string }) => void;
  private readonly countLost?: (attributes: { event: string }) => void;
  /** Rows lost to a full queue since the last line that said so, and when that line was written. */
  private lostUnlogged = 0;
  private lostLoggedAt = 0;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: Metrics,
  ) {
    this.budget = new SourceBudget(config.audit.maxPerSource, config.audit.windowSeconds * 1000);
    this.countDropped = metrics?.counter(
      'audit_events_dropped_total',
      'Audit rows not written because their source was over AUDIT_MAX_PER_SOURCE, by event',
    );
    this.countLost = metrics?.counter(
      'audit_events_lost_total',
      'Audit rows lost because the database did not take them: the queue (10,000 rows) was full, or the process exited first',
    );
  }

  /**
   * Every auth failure (HTTP and gRPC) passes here, so they are also counted here (rate-limit refusals are counted
   * by the limiters, which audit only the first refusal of each block). Never
   * throws and never waits: the row is queued and written in a batch. A source (client address; IPv6 by /64)
   * past AUDIT_MAX_PER_SOURCE rows per AUDIT_WINDOW_SECONDS has further rows counted, not written or logged
   * (`audit_events_dropped_total{event}`, and one `audit-suppressed` row per event when its window closes).
   */
  record(record: AuditRecord): void {
    if (AUTH_FAILURES.has(record.event)) this.metrics?.authFailure(record.method ?? 'none', record.reason ?? 'unknown');
    // Configuration reloads are the service's own events, and console actions an operator's: no budget applies.
    if (
      !UNBUDGETED.has(record.event) &&
      !record.event.startsWith('sys_') &&
      !this.budget.admit(sourceKey(record.remoteAddress), record.event)
    ) {
      this.countDropped?.({ event: record.event });
      return;
    }
    this.enqueue(record);
  }

  private enqueue(record: AuditRecord, dropped?: number): void {
    const row = Object.assign(new AuditEvent(), {
      occurredAt: new Date(),
      event: record.event,
      callerId: clean(record.callerId, 64) ?? 'unknown',
      method: clean(record.method, 32),
      outcome: record.outcome,
      reason: clean(record.reason, 64),
      // As the source search spells it: `::ffff:198.51.100.7` (a dual-stack listener's IPv4 peer) is 198.51.100.7.
      remoteAddress: clean(normaliseAddress(record.remoteAddress) ?? record.remoteAddress, 64),
      requestId: clean(record.requestId, 128),
      traceId: clean(record.traceId, 32),
      detail: clean(record.detail, 256),
      route: clean(record.route, 256),
      dropped: dropped ?? null,
    });
    this.logger.warn(
      `${row.event} caller=${row.callerId} method=${row.method ?? '-'} reason=${row.reason ?? '-'} ` +
        `remote=${row.remoteAddress ?? '-'} request=${row.requestId ?? '-'}` +
        (dropped === undefined ? '' : ` dropped=${dropped}`),
    );
    if (this.queue.length >= MAX_QUEUE) this.lose(this.queue.shift() as AuditEvent);
    this.queue.push(row);
    if (this.queue.length >= FLUSH_BATCH) void this.flush();
  }

  /**
   * Writes everything queued so far; resolves when it is in the database (or the attempt failed: the rows stay
   * queued). At most one write runs and one waits behind it: while the database is away every event and every tick
   * asks for a flush, and a write each would pile up without end (and hold the shutdown behind them all).
   */
  flush(): Promise<void> {
    this.reportDropped();
    this.nextWrite ??= this.flushing.then(() => {
      this.nextWrite = undefined;
      return this.writeQueued();
    });
    this.flushing = this.nextWrite;
    return this.nextWrite;
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
    this.purgeTimer = setInterval(() => void this.purge(), PURGE_INTERVAL_MS);
    this.purgeTimer.unref();
    void this.purge();
  }

  /** Runs before the database connection closes (TypeORM closes it in onApplicationShutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.purgeTimer);
    await this.flushBeforeExit();
  }

  /** Events recorded while the last requests drained; best effort, the connection may already be gone. */
  async onApplicationShutdown(): Promise<void> {
    if (this.queue.length > 0) await this.flushBeforeExit();
  }

  /** One try, bounded in time; whatever is still queued after it is lost, and said so. */
  private async flushBeforeExit(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), SHUTDOWN_FLUSH_MS)));
    try {
      const late = (await Promise.race([this.flush(), timedOut])) === true;
      if (this.queue.length === 0) return;
      const lost = this.queue.splice(0);
      for (const row of lost) this.countLost?.({ event: row.event });
      this.logger.error(
        `${lost.length} audit event(s) not written: the database ${late ? 'did not answer in time' : 'refused them'}`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** A row pushed out of a full queue: counted, and logged at most once per interval with the count. */
  private lose(row: AuditEvent): void {
    this.countLost?.({ event: row.event });
    this.lostUnlogged += 1;
    const now = Date.now();
    if (now - this.lostLoggedAt < LOST_LOG_INTERVAL_MS) return;
    this.logger.error(
      `Audit queue is full (the database is not keeping up): ${this.lostUnlogged} oldest event(s) dropped ` +
        `(audit_events_lost_total); at most one such line every ${LOST_LOG_INTERVAL_MS / 1000} s`,
    );
    this.lostUnlogged = 0;
    this.lostLoggedAt = now;
  }

  /** One summary row per source and event for each closed window that dropped rows. */
  private reportDropped(): void {
    const { maxPerSource, windowSeconds } = this.config.audit;
    for (const { source, event, dropped } of this.budget.sweep()) {
      this.enqueue(
        {
          event: event as AuditEventName,
          outcome: 'failure',
          reason: SUPPRESSED_REASON,
          remoteAddress: source,
          detail: `${dropped} more ${event} rows from this source not written (over ${maxPerSource} per ${windowSeconds} s)`,
        },
        dropped,
      );
    }
  }

  /** Deletes the rows older than `AUDIT_RETENTION_DAYS`, in batches; returns how many. */
  async purge(): Promise<number> {
    const days = this.config.audit.retentionDays;
    try {
      return await purgeInBatches(async (limit) => {
        const [{ purged }] = await this.dataSource.query<[{ purged: number }]>(PURGE, [days, limit]);
        return purged;
      });
    } catch (error: unknown) {
      this.logger.warn(`Could not apply audit retention: ${String(error)}`);
      return 0;
    }
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, FLUSH_BATCH);
      try {
        await this.dataSource.getRepository(AuditEvent).insert(batch);
      } catch (error: unknown) {
        // Keep the events for the next attempt rather than losing them.
        this.queue.unshift(...batch);
        this.logger.error(`Could not write ${batch.length} audit event(s): ${String(error)}`);
        return;
      }
    }
  }
}

/** The budget's key: the client address (an IPv6 client by its /64), or `none` for events without one. */
function sourceKey(remoteAddress: string | undefined): string {
  const address = normaliseAddress(remoteAddress);
  return address ? addressLimitKey(address) : 'none';
}
