import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { type ExpiringRows, PurgesExpiredRows } from '../../common/retention';
import { AppConfig } from '../../config';
import { DatabasePool } from '../../database/database-pool';
import { sql } from '../../database/sql';
import { Metrics } from '../../observability/metrics';
import { REDACTED, redactJson } from '../../observability/redaction';
import { type FinishedTurn, TurnJournal } from '../../observability/turn-journal';
import { CaptureRules } from '../capture/capture-rules';
import { ConsoleOptions } from '../console.options';
import { ROLLUP_SPANS_SECONDS } from './intent-stats';
import { bucketwiseSql, latencyBucket } from './latency-histogram';

/** Where a committed batch of turns is announced (`<first id>-<last id>`), for the console's live tail. */
export const TURN_LOG_CHANNEL = 'wf_turn_log';

/** Advisory lock key a batch holds from drawing its ids to its commit ("wftl" in ASCII). */
export const TURN_LOG_LOCK = 0x7766746c;

/** The outcomes counted as errors (as `fulfillment_errors_total` counts them). */
const ERROR_OUTCOMES = `('failed', 'timed-out', 'degraded', 'busy', 'error')`;
/** A turn that missed its deadline: timed out, or took longer than its budget. */
const MISSED = `(outcome = 'timed-out' OR duration_ms > budget_ms)`;

const INSERT_BATCH = sql<
  never,
  [
    at: Date[],
    requestIds: string[],
    traceIds: (string | null)[],
    platforms: string[],
    intents: string[],
    callerIds: string[],
    outcomes: string[],
    durationsMs: number[],
    budgetsMs: number[],
    capturedRequests: (string | null)[],
    capturedStatuses: (number | null)[],
    capturedResponses: (string | null)[],
    latencyBuckets: number[],
  ]
>(
  'turn_log_insert',
  // Ids are drawn first so that a captured turn's bodies go in with it, in the same statement; and only once the
  // statement holds the turn log's lock (until it commits), so every replica's batches commit in the order of their
  // ids: a turn seen by id is never followed by a turn of a lower id (a console resuming after the last id it saw).
  // The batch is added to the rollup's periods in the same statement: both are written or neither, and the lock
  // makes the replicas' additions to one period take turns.
  `WITH writer AS MATERIALIZED (SELECT pg_advisory_xact_lock(${TURN_LOG_LOCK})),
   batch AS (
     SELECT nextval(pg_get_serial_sequence('turn_log', 'id')) AS id, b.*
       FROM writer, unnest($1::timestamptz[], $2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[], $6::varchar[],
                   $7::varchar[], $8::real[], $9::integer[], $10::jsonb[], $11::integer[], $12::jsonb[], $13::smallint[])
            AS b(at, request_id, trace_id, platform, intent, caller_id, outcome, duration_ms, budget_ms,
                   request, response_status, response, latency_bucket)),
   inserted AS (
     INSERT INTO turn_log (id, at, request_id, trace_id, platform, intent, caller_id, outcome, duration_ms, budget_ms)
     SELECT id, at, request_id, trace_id, platform, intent, caller_id, outcome, duration_ms, budget_ms FROM batch
     RETURNING id),
   captured AS (
     INSERT INTO turn_captures (turn_id, path, request, response_status, response)
     SELECT id, '/v1/webhooks/' || platform, request, response_status, response FROM batch WHERE request IS NOT NULL),
   periods AS (
     SELECT span.seconds AS span_seconds,
            to_timestamp(floor(extract(epoch FROM at) / span.seconds) * span.seconds) AS starts_at, platform, intent,
            count(*)::int AS turns,
            count(*) FILTER (WHERE outcome IN ${ERROR_OUTCOMES})::int AS errors,
            count(*) FILTER (WHERE ${MISSED})::int AS deadline_misses,
            max(budget_ms) AS budget_max_ms, min(duration_ms) AS duration_min_ms, max(duration_ms) AS duration_max_ms,
            ${bucketwiseSql((bucket) => `count(*) FILTER (WHERE latency_bucket = ${bucket})`)} AS latency
       FROM batch, (VALUES ${ROLLUP_SPANS_SECONDS.map((seconds) => `(${seconds})`).join(', ')}) AS span(seconds)
      GROUP BY 1, 2, 3, 4),
   rolled_up AS (
     INSERT INTO turn_log_rollup AS r (span_seconds, starts_at, platform, intent, turns, errors, deadline_misses,
                                       budget_max_ms, duration_min_ms, duration_max_ms, latency)
     SELECT * FROM periods
     ON CONFLICT (span_seconds, starts_at, platform, intent) DO UPDATE SET
       turns = r.turns + excluded.turns,
       errors = r.errors + excluded.errors,
       deadline_misses = r.deadline_misses + excluded.deadline_misses,
       budget_max_ms = greatest(r.budget_max_ms, excluded.budget_max_ms),
       duration_min_ms = least(r.duration_min_ms, excluded.duration_min_ms),
       duration_max_ms = greatest(r.duration_max_ms, excluded.duration_max_ms),
       latency = ${bucketwiseSql((bucket) => `r.latency[${bucket + 1}] + excluded.latency[${bucket + 1}]`)})
   SELECT pg_notify('${TURN_LOG_CHANNEL}', min(id) || '-' || max(id)) FROM inserted`,
);

const PURGE = sql<{ purged: 1 }, [limit: number, hours: number]>(
  'turn_log_purge',
  `DELETE FROM turn_log WHERE id IN (
     SELECT id FROM turn_log WHERE at < now() - make_interval(hours => $2) LIMIT $1)
   RETURNING 1 AS purged`,
);

/** Periods of the rollup that ended before the retention began: none of their turns is left. */
const PURGE_ROLLUP = sql<{ purged: 1 }, [limit: number, hours: number]>(
  'turn_log_rollup_purge',
  `DELETE FROM turn_log_rollup WHERE (span_seconds, starts_at, platform, intent) IN (
     SELECT span_seconds, starts_at, platform, intent FROM turn_log_rollup
      WHERE ${ROLLUP_SPANS_SECONDS.map(
        (seconds) =>
          `(span_seconds = ${seconds} AND starts_at <= now() - make_interval(hours => $2, secs => ${seconds}))`,
      ).join(' OR ')}
      LIMIT $1)
   RETURNING 1 AS purged`,
);

/** Rows per INSERT: big enough that a busy replica writes a few statements a second, small enough to stay quick. */
export const TURN_LOG_BATCH_SIZE = 1000;
const WARN_EVERY_MS = 30_000;
/**
 * The longest the shutdown waits for the last turns to be written: it runs within the shutdown's close margin
 * (2 s), beside the audit log's flush and the pools' closes, and a database that does not answer held the whole
 * shutdown until the process was forced out.
 */
export const TURN_LOG_SHUTDOWN_FLUSH_MS = 1000;

/**
 * Keeps every finished turn for the operator console: the turn pipeline's announcement is pushed onto a buffer
 * (nothing else on the request path), and a timer writes the buffer in one INSERT per batch, which also adds the
 * batch to the rollup the Intents view reads (turn_log_rollup: per minute and per quarter of an hour). While
 * PostgreSQL cannot take them, turns wait in the buffer up to TURN_LOG_MAX_BUFFERED; beyond that new ones are
 * dropped and counted (`turn_log_dropped_total`): the log is for looking, never worth slowing or failing a turn.
 */
@PurgesExpiredRows('turn_log')
@Injectable()
export class TurnLogWriter implements OnApplicationBootstrap, BeforeApplicationShutdown, ExpiringRows {
  private readonly logger = new Logger('TurnLog');
  private buffer: FinishedTurn[] = [];
  private writing?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private stopListening?: () => void;
  private dropped = 0;
  private warnedAt = 0;

  constructor(
    private readonly journal: TurnJournal,
    private readonly pool: DatabasePool,
    private readonly options: ConsoleOptions,
    private readonly captures: CaptureRules,
    private readonly config: AppConfig,
    @Optional() metrics?: Metrics,
  ) {
    metrics?.cumulative('turn_log_dropped_total', 'Turns not kept in the turn log (its buffer was full)', (observe) =>
      observe(this.dropped),
    );
    metrics?.gauge('turn_log_buffered', 'Turns waiting to be written to the turn log', (observe) =>
      observe(this.buffer.length),
    );
  }

  onApplicationBootstrap(): void {
    if (!this.options.turnLog.enabled) return;
    this.stopListening = this.journal.listen(
      (turn) => this.take(turn),
      (platform, callerId) => this.captures.matches(platform, callerId, Date.now()),
    );
    this.timer = setInterval(() => void this.flush(), this.options.turnLog.flushMs);
    this.timer.unref();
  }

  /**
   * The last turns go in before the pool closes: one try, bounded in time (TURN_LOG_SHUTDOWN_FLUSH_MS); whatever is
   * not written by then is lost, and said so.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopListening?.();
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<true>(
      (resolve) => (timer = setTimeout(() => resolve(true), TURN_LOG_SHUTDOWN_FLUSH_MS)),
    );
    try {
      const late = (await Promise.race([this.flush(), timedOut])) === true;
      if (this.buffer.length === 0) return;
      this.logger.warn(
        `${this.buffer.length} turn(s) not written to the turn log: the database ${late ? 'did not answer in time' : 'refused them'}`,
      );
      // Whatever the write still under way manages is kept; nothing more is tried.
      this.buffer = [];
    } finally {
      clearTimeout(timer);
    }
  }

  /** Writes what is buffered now (and waits for a write already under way). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.buffer.length === 0) return;
    this.writing = this.writeBuffered().finally(() => (this.writing = undefined));
    await this.writing;
  }

  /** The turns first, then (in what is left of `limit`) their periods in the rollup. */
  async purgeExpired(limit: number): Promise<number> {
    const hours = this.options.turnLog.retentionHours;
    const turns = (await this.pool.run(PURGE, [limit, hours])).length;
    if (turns === limit) return turns;
    return turns + (await this.pool.run(PURGE_ROLLUP, [limit - turns, hours])).length;
  }

  private take(turn: FinishedTurn): void {
    if (this.buffer.length >= this.options.turnLog.maxBuffered) {
      this.dropped++;
      return;
    }
    this.buffer.push(turn);
  }

  /**
   * What was buffered when the write began, in batches of TURN_LOG_BATCH_SIZE; turns announced meanwhile wait for the
   * next flush. Under load a write that went on with them wrote the few turns of each statement's round trip, back to
   * back: a statement every ten turns or so instead of one per TURN_LOG_FLUSH_MS.
   */
  private async writeBuffered(): Promise<void> {
    let due = this.buffer.length;
    // The shutdown may give the buffer up while a batch is written.
    while (due > 0 && this.buffer.length > 0) {
      const batch = this.buffer.slice(0, Math.min(due, TURN_LOG_BATCH_SIZE));
      try {
        await this.pool.run(INSERT_BATCH, this.columnsOf(batch));
      } catch (error: unknown) {
        this.warn(error);
        return;
      }
      this.buffer = this.buffer.slice(batch.length);
      due -= batch.length;
    }
  }

  private columnsOf(batch: readonly FinishedTurn[]): NonNullable<typeof INSERT_BATCH.types>['params'] {
    return columnsOf(batch, this.config.observability.parameterAllowlist);
  }

  private warn(error: unknown): void {
    // The shutdown gave the buffer up (and said so) while this write still waited.
    if (this.buffer.length === 0) return;
    const now = Date.now();
    if (now - this.warnedAt < WARN_EVERY_MS) return;
    this.warnedAt = now;
    this.logger.warn(
      `Could not write ${this.buffer.length} turns to the turn log (kept, up to TURN_LOG_MAX_BUFFERED): ${String(error)}`,
    );
  }
}

/**
 * Text as PostgreSQL can store it: a NUL (U+0000) becomes U+FFFD. The webhook reader refuses NUL, but a turn
 * comes from other transports too, and one row PostgreSQL refuses would fail every batch it joined.
 */
function storable(text: string, maxLength: number): string {
  const cut = text.slice(0, maxLength);
  return cut.includes('\0') ? cut.replaceAll('\0', '\uFFFD') : cut;
}

/**
 * The batch as one array per column, each value cut to its column's size and storable (one odd row never fails
 * a batch).
 */
function columnsOf(
  batch: readonly FinishedTurn[],
  allowlist: readonly string[],
): NonNullable<typeof INSERT_BATCH.types>['params'] {
  const captures = batch.map((turn) => (turn.request === undefined ? undefined : capturedBodies(turn, allowlist)));
  return [
    batch.map((turn) => new Date(turn.at)),
    batch.map((turn) => storable(turn.requestId, 256)),
    batch.map((turn) => turn.traceId ?? null),
    batch.map((turn) => turn.platform),
    batch.map((turn) => storable(turn.intent, 200)),
    batch.map((turn) => storable(turn.callerId, 128)),
    batch.map((turn) => turn.outcome.slice(0, 16)),
    batch.map((turn) => turn.durationMs),
    batch.map((turn) => Math.round(turn.budgetMs)),
    captures.map((capture) => capture?.request ?? null),
    captures.map((capture) => capture?.status ?? null),
    captures.map((capture) => capture?.response ?? null),
    // Of the duration as the real column keeps it, so that the rollup counts what the turn log holds.
    batch.map((turn) => latencyBucket(Math.fround(turn.durationMs))),
  ];
}

/** A body bigger than this is kept as a note saying so: the inspector is for reading, not for archives. */
const MAX_CAPTURED_BYTES = 64 * 1024;

/** The turn's bodies redacted, as JSON text for the jsonb columns (redacted here, off the request path). */
function capturedBodies(
  turn: FinishedTurn,
  allowlist: readonly string[],
): { request: string; status: number | null; response: string | null } {
  const keep = (body: unknown): string => {
    // jsonb holds no \u0000 either.
    const json = (JSON.stringify(redactJson(body, allowlist)) ?? 'null').replaceAll('\\u0000', '\\ufffd');
    return Buffer.byteLength(json) <= MAX_CAPTURED_BYTES
      ? json
      : JSON.stringify({ truncated: true, bytes: json.length });
  };
  let response: string | null = null;
  if (turn.reply) {
    try {
      response = keep(JSON.parse(turn.reply.json));
    } catch {
      response = JSON.stringify(REDACTED);
    }
  }
  return { request: keep(turn.request), status: turn.reply?.status ?? null, response };
}
