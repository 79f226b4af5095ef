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

/** Where a committed batch of turns is announced (`<first id>-<last id>`), for the console's live tail. */
export const TURN_LOG_CHANNEL = 'wf_turn_log';

/** Advisory lock key a batch holds from drawing its ids to its commit ("wftl" in ASCII). */
export const TURN_LOG_LOCK = 0x7766746c;

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
  ]
>(
  'turn_log_insert',
  // Ids are drawn first so that a captured turn's bodies go in with it, in the same statement; and only once the
  // statement holds the turn log's lock (until it commits), so every replica's batches commit in the order of their
  // ids: a turn seen by id is never followed by a turn of a lower id (a console resuming after the last id it saw).
  `WITH writer AS MATERIALIZED (SELECT pg_advisory_xact_lock(${TURN_LOG_LOCK})),
   batch AS (
     SELECT nextval(pg_get_serial_sequence('turn_log', 'id')) AS id, b.*
       FROM writer, unnest($1::timestamptz[], $2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[], $6::varchar[],
                   $7::varchar[], $8::real[], $9::integer[], $10::jsonb[], $11::integer[], $12::jsonb[])
            AS b(at, request_id, trace_id, platform, intent, caller_id, outcome, duration_ms, budget_ms,
                   request, response_status, response)),
   inserted AS (
     INSERT INTO turn_log (id, at, request_id, trace_id, platform, intent, caller_id, outcome, duration_ms, budget_ms)
     SELECT id, at, request_id, trace_id, platform, intent, caller_id, outcome, duration_ms, budget_ms FROM batch
     RETURNING id),
   captured AS (
     INSERT INTO turn_captures (turn_id, path, request, response_status, response)
     SELECT id, '/v1/webhooks/' || platform, request, response_status, response FROM batch WHERE request IS NOT NULL)
   SELECT pg_notify('${TURN_LOG_CHANNEL}', min(id) || '-' || max(id)) FROM inserted`,
);

const PURGE = sql<{ purged: 1 }, [limit: number, hours: number]>(
  'turn_log_purge',
  `DELETE FROM turn_log WHERE id IN (
     SELECT id FROM turn_log WHERE at < now() - make_interval(hours => $2) LIMIT $1)
   RETURNING 1 AS purged`,
);

/** Rows per INSERT: big enough that a busy replica writes a few statements a second, small enough to stay quick. */
export const TURN_LOG_BATCH_SIZE = 1000;
const WARN_EVERY_MS = 30_000;

/**
 * Keeps every finished turn for the operator console: the turn pipeline's announcement is pushed onto a buffer
 * (nothing else on the request path), and a timer writes the buffer in one INSERT per batch. While PostgreSQL
 * cannot take them, turns wait in the buffer up to TURN_LOG_MAX_BUFFERED; beyond that new ones are dropped and
 * counted (`turn_log_dropped_total`): the log is for looking, never worth slowing or failing a turn.
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

  /** The last turns go in before the pool closes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopListening?.();
    clearInterval(this.timer);
    await this.flush();
  }

  /** Writes what is buffered now (and waits for a write already under way). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.buffer.length === 0) return;
    this.writing = this.writeBuffered().finally(() => (this.writing = undefined));
    await this.writing;
  }

  async purgeExpired(limit: number): Promise<number> {
    return (await this.pool.run(PURGE, [limit, this.options.turnLog.retentionHours])).length;
  }

  private take(turn: FinishedTurn): void {
    if (this.buffer.length >= this.options.turnLog.maxBuffered) {
      this.dropped++;
      return;
    }
    this.buffer.push(turn);
  }

  private async writeBuffered(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, TURN_LOG_BATCH_SIZE);
      try {
        await this.pool.run(INSERT_BATCH, this.columnsOf(batch));
      } catch (error: unknown) {
        this.warn(error);
        return;
      }
      this.buffer = this.buffer.slice(batch.length);
    }
  }

  private columnsOf(batch: readonly FinishedTurn[]): NonNullable<typeof INSERT_BATCH.types>['params'] {
    return columnsOf(batch, this.config.observability.parameterAllowlist);
  }

  private warn(error: unknown): void {
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
