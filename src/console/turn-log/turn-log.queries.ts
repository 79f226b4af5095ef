import { Injectable } from '@nestjs/common';
import { DatabasePool } from '../../database/database-pool';
import { sql } from '../../database/sql';
import type { TurnLogEntry } from './turn-log-entry.entity';

/** A turn as the console lists it (`id` as a string: a bigint); `captured` when its bodies were kept. */
export type TurnRow = Pick<
  TurnLogEntry,
  'id' | 'at' | 'requestId' | 'traceId' | 'platform' | 'intent' | 'callerId' | 'outcome' | 'durationMs' | 'budgetMs'
> & { readonly captured: boolean };

/** A turn's captured bodies (already redacted when they were written). */
export interface CapturedBodies {
  readonly path: string;
  readonly request: unknown;
  readonly responseStatus: number | null;
  readonly response: unknown;
}

/** What the turns table filters by; every field optional. */
export interface TurnFilter {
  readonly platform?: string;
  readonly intent?: string;
  readonly callerId?: string;
  readonly outcome?: string;
  readonly minDurationMs?: number;
  readonly from?: Date;
  readonly to?: Date;
  /** Only turns older than this id (the next page). */
  readonly beforeId?: string;
  /** Only turns newer than this id (a live tail resuming). */
  readonly afterId?: string;
  readonly limit: number;
}

const COLUMNS = `id::text AS id, at, request_id AS "requestId", trace_id AS "traceId", platform, intent,
  caller_id AS "callerId", outcome, duration_ms AS "durationMs", budget_ms AS "budgetMs",
  EXISTS (SELECT 1 FROM turn_captures WHERE turn_id = turn_log.id) AS captured`;

const SEARCH = sql<
  TurnRow,
  [
    platform: string | null,
    intent: string | null,
    callerId: string | null,
    outcome: string | null,
    minDurationMs: number | null,
    from: Date | null,
    to: Date | null,
    beforeId: string | null,
    limit: number,
    afterId: string | null,
  ]
>(
  'console_turns_search',
  `SELECT ${COLUMNS} FROM turn_log
    WHERE ($1::varchar IS NULL OR platform = $1)
      AND ($2::varchar IS NULL OR intent = $2)
      AND ($3::varchar IS NULL OR caller_id = $3)
      AND ($4::varchar IS NULL OR outcome = $4)
      AND ($5::real IS NULL OR duration_ms >= $5)
      AND ($6::timestamptz IS NULL OR at >= $6)
      AND ($7::timestamptz IS NULL OR at < $7)
      AND ($8::bigint IS NULL OR id < $8)
      AND ($10::bigint IS NULL OR id > $10)
    ORDER BY turn_log.id DESC
    LIMIT $9`,
);

const RANGE = sql<TurnRow, [first: string, last: string]>(
  'console_turns_range',
  `SELECT ${COLUMNS} FROM turn_log WHERE id BETWEEN $1::bigint AND $2::bigint ORDER BY turn_log.id`,
);

const AFTER = sql<TurnRow, [afterId: string, limit: number]>(
  'console_turns_after',
  `SELECT ${COLUMNS} FROM turn_log WHERE id > $1::bigint ORDER BY turn_log.id LIMIT $2`,
);

const ONE = sql<TurnRow & { capture: CapturedBodies | null }, [id: string]>(
  'console_turn_with_capture',
  `SELECT ${COLUMNS},
          CASE WHEN c.turn_id IS NULL THEN NULL ELSE jsonb_build_object(
            'path', c.path, 'request', c.request, 'responseStatus', c.response_status, 'response', c.response) END
            AS capture
     FROM turn_log LEFT JOIN turn_captures c ON c.turn_id = turn_log.id
    WHERE turn_log.id = $1::bigint`,
);

const LATEST_ID = sql<{ id: string | null }, []>('console_turns_latest_id', `SELECT max(id)::text AS id FROM turn_log`);

/** Reads of the turn log for the console (always on the primary: the live tail must not lag). */
@Injectable()
export class TurnLogQueries {
  constructor(private readonly pool: DatabasePool) {}

  search(filter: TurnFilter): Promise<TurnRow[]> {
    return this.pool.run(SEARCH, [
      filter.platform ?? null,
      filter.intent ?? null,
      filter.callerId ?? null,
      filter.outcome ?? null,
      filter.minDurationMs ?? null,
      filter.from ?? null,
      filter.to ?? null,
      filter.beforeId ?? null,
      filter.limit,
      filter.afterId ?? null,
    ]);
  }

  /** A batch a writer announced (`first`–`last`, both included). */
  range(first: string, last: string): Promise<TurnRow[]> {
    return this.pool.run(RANGE, [first, last]);
  }

  /** Turns written after `afterId`, oldest first (a live tail catching up after a gap). */
  after(afterId: string, limit: number): Promise<TurnRow[]> {
    return this.pool.run(AFTER, [afterId, limit]);
  }

  /** One turn with its captured bodies, if any were kept. */
  async one(id: string): Promise<{ turn: TurnRow; capture: CapturedBodies | null } | undefined> {
    const [row] = await this.pool.run(ONE, [id]);
    if (!row) return undefined;
    const { capture, ...turn } = row;
    return { turn, capture };
  }

  async latestId(): Promise<string> {
    const [row] = await this.pool.run(LATEST_ID, []);
    return row?.id ?? '0';
  }
}
