import { Injectable, Logger, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { WorkInFlight } from '../common/work-in-flight';
import { Clock } from '../common/clock';
import { runInBackground } from '../common/work-scope';
import { AppConfig } from '../config';
import { mayHaveCommitted } from '../database/connection-errors';
import { DatabasePool } from '../database/database-pool';
import { sql, type SqlTransaction } from '../database/sql';
import {
  DeferredResults,
  FulfillmentRequest,
  FulfillmentResult,
  IntentHandlerRegistry,
  operatorText,
} from '../fulfillment';
import { CallbackDeliveries } from './callback-deliveries';
import type { FulfillmentMode, FulfillmentStatus, StoredFulfillment } from './fulfillment-record.entity';

type TurnIdentity = Pick<FulfillmentRequest, 'caller' | 'platform' | 'sessionId' | 'intent'>;

const STORED_COLUMNS = `id, caller_id AS "callerId", platform, session_id AS "sessionId", intent, mode, status, result,
  created_at AS "createdAt", completed_at AS "completedAt"`;

type InsertParams = [
  id: string,
  callerId: string,
  platform: string,
  sessionId: string,
  intent: string,
  mode: FulfillmentMode,
  status: FulfillmentStatus,
  ttlMs: string,
];

const INSERT = sql<never, InsertParams>(
  'fulfillments_insert',
  `INSERT INTO fulfillments (id, caller_id, platform, session_id, intent, mode, status, expires_at)
   VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8::double precision / 1000))`,
);

/**
 * The same record, unless it is there already: a first INSERT whose COMMIT went through and whose answer was lost
 * (the connection dropped) left it, and a plain INSERT would fail the transaction that stores the result.
 */
const INSERT_UNLESS_THERE = sql<never, InsertParams>(
  'fulfillments_insert_unless_there',
  `${INSERT.text} ON CONFLICT (id) DO NOTHING`,
);

const QUEUE_TURN = sql<
  { id: string },
  [id: string, callerId: string, platform: string, sessionId: string, intent: string, ttlMs: string, key: string]
>(
  'fulfillments_queue_turn',
  `INSERT INTO fulfillments (id, caller_id, platform, session_id, intent, mode, status, expires_at, idempotency_key)
   VALUES ($1, $2, $3, $4, $5, 'async', 'queued', now() + make_interval(secs => $6::double precision / 1000), $7)
   ON CONFLICT (caller_id, idempotency_key) DO NOTHING
   RETURNING id`,
);

const QUEUED_FOR_KEY = sql<{ id: string; expired: boolean }, [callerId: string, key: string]>(
  'fulfillments_queued_for_key',
  'SELECT id, expires_at < now() AS expired FROM fulfillments WHERE caller_id = $1 AND idempotency_key = $2',
);

const RELEASE_KEY = sql<never, [id: string]>(
  'fulfillments_release_key',
  'UPDATE fulfillments SET idempotency_key = NULL WHERE id = $1',
);

const MARK_RUNNING = sql<{ id: string }, [id: string]>(
  'fulfillments_running',
  `UPDATE fulfillments SET status = 'running' WHERE id = $1 AND status IN ('queued', 'running') RETURNING id`,
);

const FINISH = sql<StoredFulfillment, [id: string, status: 'completed' | 'failed', result: string]>(
  'fulfillments_finish',
  `UPDATE fulfillments SET status = $2, result = $3, completed_at = now()
   WHERE id = $1 AND status IN ('queued', 'running')
   RETURNING ${STORED_COLUMNS}`,
);

const SELECT = sql<StoredFulfillment, [id: string, callerId: string]>(
  'fulfillments_select',
  `SELECT ${STORED_COLUMNS} FROM fulfillments WHERE id = $1 AND caller_id = $2 AND expires_at >= now()`,
);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Results of work finished after its turn was answered (async handlers and turns that outlived their
 * deadline), readable only by the caller that started them; each finished one is also sent to the
 * caller's callback URL when it has one.
 */
@Injectable()
export class FulfillmentResults extends DeferredResults {
  private readonly logger = new Logger(FulfillmentResults.name);
  /**
   * Late work whose record is still being written (or could not be). Its id is in the reply already, and a
   * poll or a Dialogflow follow-up event can come back before the INSERT commits; here it is seen running
   * instead of unknown (which would make the follow-up turn tell the user nothing is in progress).
   */
  private readonly unrecorded = new Map<string, StoredFulfillment>();
  /** Late work not yet stored (its result, its callback queued): shutdown waits for it (see `lateWorkStored`). */
  private readonly storing = new WorkInFlight();

  constructor(
    private readonly pool: DatabasePool,
    private readonly config: AppConfig,
    private readonly callbacks: CallbackDeliveries,
    private readonly clock: Clock,
    /** Which handlers change state; without it (a store built by hand) every handler is taken to. */
    @Optional() private readonly handlers?: IntentHandlerRegistry,
  ) {
    super();
  }

  defer(request: Omit<FulfillmentRequest, 'signal' | 'deadline'>, work: Promise<FulfillmentResult>): string {
    const id = randomUUID();
    runInBackground(() => this.follow(id, request, work));
    return id;
  }

  /**
   * Runs `queueing`, the transaction that queues async fulfillment `id`, with the fulfillment seen as queued here
   * meanwhile: a turn answered "still working" while its queueing waited (a lock, a busy pool) carries the id
   * already, and a follow-up turn must not hear that nothing is in progress and then have the work run.
   */
  async whileQueueing<T>(id: string, turn: TurnIdentity, queueing: () => Promise<T>): Promise<T> {
    this.unrecorded.set(id, this.unrecordedEntry(id, turn, 'async', 'queued'));
    try {
      return await queueing();
    } finally {
      this.unrecorded.delete(id);
    }
  }

  private unrecordedEntry(
    id: string,
    turn: TurnIdentity,
    mode: FulfillmentMode,
    status: FulfillmentStatus,
  ): StoredFulfillment {
    return {
      id,
      callerId: turn.caller.id,
      platform: turn.platform,
      sessionId: turn.sessionId,
      intent: turn.intent,
      mode,
      status,
      result: null,
      createdAt: new Date(this.clock.now()),
      completedAt: null,
    };
  }

  /** Records the late work, then its result when it settles (outside the turn: its deadline is spent). */
  private follow(
    id: string,
    request: Omit<FulfillmentRequest, 'signal' | 'deadline'>,
    work: Promise<FulfillmentResult>,
  ): void {
    this.unrecorded.set(id, this.unrecordedEntry(id, request, 'deferred', 'running'));
    const recorded = this.insert(id, request, 'deferred', 'running').then(
      () => {
        this.unrecorded.delete(id);
        return true;
      },
      (error: unknown) => {
        this.logger.warn(
          `Could not record the late work ${id} yet (it is recorded when it finishes): ${String(error)}`,
        );
        return false;
      },
    );
    const settle = async (status: 'completed' | 'failed', result: FulfillmentResult): Promise<void> => {
      const inserted = await recorded;
      try {
        if (inserted) await this.finish(id, status, result);
        else await this.recordFinished(id, request, status, result);
      } catch (error: unknown) {
        this.logger.error(`Could not store the late result ${id}: ${String(error)}`);
      } finally {
        this.unrecorded.delete(id);
      }
    };
    this.storing.started();
    void work
      .then(
        (result) => settle('completed', result),
        (error: unknown) => settle('failed', this.failedResult(request, error)),
      )
      .finally(() => this.storing.finished());
  }

  /**
   * The result kept for work that failed after its turn was answered (late work, an async job on its last attempt).
   * A state-changing handler's whose write may have committed (the connection lost while a statement was on it, or
   * its time ran out with the work under way: `timedOut`) says so (UNCONFIRMED_TEXT), as a turn answered in time
   * does: "try again", read out by a later turn, would have the user ask anew and move the money a second time.
   */
  failedResult(
    request: Pick<FulfillmentRequest, 'intent' | 'languageCode'>,
    error: unknown,
    timedOut = false,
  ): FulfillmentResult {
    const changesState = this.handlers?.find(request.intent)?.changesState ?? true;
    const text =
      changesState && (timedOut || mayHaveCommitted(error))
        ? this.config.degraded.unconfirmedText
        : this.config.fulfillment.errorText;
    return { text: operatorText(text, request.languageCode), failed: true };
  }

  /**
   * Resolves once all late work has stored its result (and queued its callback), or after `timeoutMs`, with the
   * number still running then. On shutdown, before the job queue and the pools close under it.
   */
  lateWorkStored(timeoutMs: number): Promise<number> {
    return this.storing.settled(timeoutMs);
  }

  /**
   * Records an async turn as `id`, queued, inside the caller's transaction (which queues its job when this returns
   * `id`). A turn queued before under the same idempotency key keeps its fulfillment: its id is returned, and
   * nothing is written. That is a turn sent again after its first acknowledgement was never stored (the replica
   * that queued it died first, or PostgreSQL went away just then): its claim lapsed and the turn ran again.
   * One that has expired (no longer shown, not yet purged) gives its key up to a new one: its id would be
   * acknowledged and then never found.
   */
  async queueTurn(
    id: string,
    turn: TurnIdentity,
    idempotencyKey: string,
    transaction: SqlTransaction,
  ): Promise<string> {
    const ttl = String(this.config.async.resultTtlMs);
    const values = [id, turn.caller.id, turn.platform, turn.sessionId, turn.intent, ttl, idempotencyKey] as const;
    // Three tries: the holder can be purged, or give its key up, between the statements (then the next insert
    // meets no one), and a concurrent turn of the same key can take it in between only once.
    for (let attempt = 1; ; attempt++) {
      const [queued] = await transaction.run(QUEUE_TURN, values);
      if (queued) return queued.id;
      const [earlier] = await transaction.run(QUEUED_FOR_KEY, [turn.caller.id, idempotencyKey]);
      if (earlier && !earlier.expired) return earlier.id;
      if (attempt === 3) throw new Error(`Could not queue the turn under its key ${idempotencyKey}`);
      if (earlier) await transaction.run(RELEASE_KEY, [earlier.id]);
    }
  }

  /** Records work finished after its turn (or, in tests, any fulfillment), in the caller's transaction if given. */
  async insert(
    id: string,
    turn: TurnIdentity,
    mode: FulfillmentMode,
    status: FulfillmentStatus,
    transaction?: SqlTransaction,
    unlessThere = false,
  ): Promise<void> {
    const ttl = String(this.config.async.resultTtlMs);
    const values = [id, turn.caller.id, turn.platform, turn.sessionId, turn.intent, mode, status, ttl] as const;
    const statement = unlessThere ? INSERT_UNLESS_THERE : INSERT;
    await (transaction ? transaction.run(statement, values) : this.pool.run(statement, values));
  }

  /**
   * Marks an async fulfillment running; false when it is no longer open (already recorded as completed, or as
   * failed by the retention job while its job waited) or gone: its job must then not run the handler.
   */
  async markRunning(id: string): Promise<boolean> {
    return (await this.pool.run(MARK_RUNNING, [id])).length > 0;
  }

  /** Stores the final result once (a repeated finish is ignored) and queues its callback. */
  async finish(id: string, status: 'completed' | 'failed', result: FulfillmentResult): Promise<void> {
    // One transaction: a stored result always has its callback queued (a retried job finds it finished).
    await this.pool.transaction(async (tx) => {
      const [finished] = await tx.run(FINISH, [id, status, JSON.stringify(result)]);
      if (finished) await this.callbacks.enqueue(finished, tx);
    });
  }

  /**
   * A late result whose first record could not be written (or was, and its answer was lost): written now, unless
   * there, finished, with its callback.
   */
  private async recordFinished(
    id: string,
    turn: TurnIdentity,
    status: 'completed' | 'failed',
    result: FulfillmentResult,
  ): Promise<void> {
    await this.pool.transaction(async (tx) => {
      await this.insert(id, turn, 'deferred', 'running', tx, true);
      const [finished] = await tx.run(FINISH, [id, status, JSON.stringify(result)]);
      if (finished) await this.callbacks.enqueue(finished, tx);
    });
  }

  async find(id: string, callerId: string): Promise<StoredFulfillment | undefined> {
    if (!UUID.test(id)) return undefined;
    // Looked up before the query too: the record may commit (and leave the map) while the query runs.
    const writing = this.unrecorded.get(id);
    const [found] = await this.pool.run(SELECT, [id, callerId]);
    if (found) return found;
    const unrecorded = writing ?? this.unrecorded.get(id);
    return unrecorded?.callerId === callerId ? unrecorded : undefined;
  }

  /**
   * `find`, but one not found is looked for again for `graceMs`: a poll can reach another replica before the record
   * of late work (written after its reply) commits, and a 404 there would tell the client it does not exist.
   */
  async findSoon(id: string, callerId: string, graceMs: number): Promise<StoredFulfillment | undefined> {
    if (!UUID.test(id)) return undefined;
    const until = this.clock.now() + graceMs;
    return this.lookAgain(id, callerId, (found) => (found ? 0 : until));
  }

  /**
   * Polls until the fulfillment has finished or `until` passes; undefined when it does not exist. One not found is
   * looked for again for `unrecordedGraceMs` (up to `until`): late work's record is written after its reply, and on
   * another replica, or while PostgreSQL is slow (when turns outlive their deadlines), a follow-up turn can come
   * back before it commits.
   */
  async waitFor(
    id: string,
    callerId: string,
    until: number,
    signal?: AbortSignal,
    unrecordedGraceMs = 0,
  ): Promise<StoredFulfillment | undefined> {
    if (!UUID.test(id)) return undefined;
    const unrecordedUntil = Math.min(until, this.clock.now() + unrecordedGraceMs);
    const finished = (found: StoredFulfillment) => found.status === 'completed' || found.status === 'failed';
    return this.lookAgain(id, callerId, (found) => (!found ? unrecordedUntil : finished(found) ? 0 : until), signal);
  }

  /** Looks the fulfillment up until `until(found)` (ms since the epoch) has passed, or the signal aborts. */
  private async lookAgain(
    id: string,
    callerId: string,
    until: (found: StoredFulfillment | undefined) => number,
    signal?: AbortSignal,
  ): Promise<StoredFulfillment | undefined> {
    let wait = 25;
    for (;;) {
      const found = await this.find(id, callerId);
      const left = until(found) - this.clock.now();
      if (left <= 0 || signal?.aborted) return found;
      await this.clock.sleep(Math.min(wait, left));
      wait = Math.min(wait * 2, 200);
    }
  }
}
