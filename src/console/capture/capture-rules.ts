import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { type ExpiringRows, PurgesExpiredRows } from '../../common/retention';
import { AppConfig } from '../../config';
import { DatabasePool } from '../../database/database-pool';
import { PgNotifications } from '../../database/pg-notifications';
import { sql } from '../../database/sql';
import { ConsoleOptions } from '../console.options';

/** A capture rule as the console shows it (`id` as a string: a bigint). */
export interface CaptureRuleView {
  readonly id: string;
  readonly platform: string | null;
  readonly callerId: string | null;
  readonly expiresAt: Date;
  readonly createdBy: string;
  readonly createdAt: Date;
}

/** Announced after every change to the rules, so that every replica reloads them. */
export const CAPTURE_RULES_CHANNEL = 'wf_capture_rules';
/** A capture is for looking at a problem now: at most a day, so a forgotten one ends by itself. */
export const MAX_CAPTURE_MINUTES = 24 * 60;
const RELOAD_EVERY_MS = 60_000;

const COLUMNS = `id::text AS id, platform, caller_id AS "callerId", expires_at AS "expiresAt",
  created_by AS "createdBy", created_at AS "createdAt"`;

const IN_FORCE = sql<CaptureRuleView, []>(
  'capture_rules_in_force',
  `SELECT ${COLUMNS} FROM capture_rules WHERE expires_at > now() ORDER BY capture_rules.id DESC LIMIT 200`,
);

const CREATE = sql<CaptureRuleView, [platform: string | null, callerId: string | null, minutes: number, by: string]>(
  'capture_rules_create',
  `INSERT INTO capture_rules (platform, caller_id, expires_at, created_by)
   VALUES ($1, $2, now() + make_interval(mins => $3), $4)
   RETURNING ${COLUMNS}`,
);

const PURGE = sql<{ purged: 1 }, [limit: number, days: number]>(
  'capture_rules_purge',
  `DELETE FROM capture_rules WHERE id IN (
     SELECT id FROM capture_rules WHERE expires_at < now() - make_interval(days => $2) LIMIT $1)
   RETURNING 1 AS purged`,
);

const END = sql<CaptureRuleView, [id: string]>(
  'capture_rules_end',
  `UPDATE capture_rules SET expires_at = now() WHERE id = $1::bigint AND expires_at > now()
   RETURNING ${COLUMNS}`,
);

/**
 * Which turns get their bodies captured: the rules in force, held in memory by every replica (the turn log asks
 * for each turn), reloaded when any replica changes them (LISTEN/NOTIFY) and every minute. Ended and expired
 * rules stay in the table as a record of what was captured when, as long as the audit trail keeps its events
 * (AUDIT_RETENTION_DAYS).
 */
@PurgesExpiredRows('capture_rules')
@Injectable()
export class CaptureRules implements OnApplicationBootstrap, OnModuleDestroy, ExpiringRows {
  private readonly logger = new Logger('CaptureRules');
  private rules: readonly CaptureRuleView[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly pool: DatabasePool,
    private readonly notifications: PgNotifications,
    private readonly options: ConsoleOptions,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.options.turnLog.enabled) return;
    this.notifications.channel(CAPTURE_RULES_CHANNEL).subscribe(
      () => void this.reload(),
      () => void this.reload(),
    );
    this.timer = setInterval(() => void this.reload(), RELOAD_EVERY_MS);
    this.timer.unref();
    void this.reload();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Whether a turn of this platform and caller, finished at `at` (ms), is to be captured. */
  matches(platform: string, callerId: string, at: number): boolean {
    for (const rule of this.rules) {
      if (rule.expiresAt.getTime() <= at) continue;
      if (
        (rule.platform === null || rule.platform === platform) &&
        (rule.callerId === null || rule.callerId === callerId)
      ) {
        return true;
      }
    }
    return false;
  }

  async inForce(): Promise<CaptureRuleView[]> {
    return this.pool.run(IN_FORCE, []);
  }

  async create(rule: {
    platform?: string;
    callerId?: string;
    minutes: number;
    createdBy: string;
  }): Promise<CaptureRuleView> {
    const [created] = await this.pool.run(CREATE, [
      rule.platform ?? null,
      rule.callerId ?? null,
      rule.minutes,
      rule.createdBy,
    ]);
    await this.changed(created.id);
    return created;
  }

  /** Ends a rule now; undefined when there is no such rule in force. */
  async end(id: string): Promise<CaptureRuleView | undefined> {
    const [ended] = await this.pool.run(END, [id]);
    if (ended) await this.changed(ended.id);
    return ended;
  }

  async purgeExpired(limit: number): Promise<number> {
    return (await this.pool.run(PURGE, [limit, this.config.audit.retentionDays])).length;
  }

  /** This replica reloads at once; the others when the notification reaches them. */
  private async changed(id: string): Promise<void> {
    await this.notifications.channel(CAPTURE_RULES_CHANNEL).publish(id);
    await this.reload();
  }

  private async reload(): Promise<void> {
    try {
      this.rules = await this.inForce();
    } catch (error: unknown) {
      // The rules in memory stay until the next reload: capture neither starts nor stops on a failed read.
      this.logger.warn(`Could not read the capture rules: ${String(error)}`);
    }
  }
}
