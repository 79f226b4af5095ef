import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { PgNotifications } from '../../database/pg-notifications';
import { TURN_LOG_BATCH_SIZE, TURN_LOG_CHANNEL } from './turn-log.writer';
import { TurnLogQueries, type TurnRow } from './turn-log.queries';

export type TurnSubscriber = (turns: readonly TurnRow[]) => void;

const CATCH_UP_LIMIT = 1000;
/**
 * How far below the newest id handed out a catch-up reads again. Batches draw their ids under the turn log's lock
 * (`TURN_LOG_LOCK`), so they commit in the order of their ids; but a replica of a release before that lock, still
 * serving during a rolling upgrade, draws its batch's ids when its INSERT starts and announces them when it
 * commits, so its batch can commit just after one with higher ids. When a gap in the notifications begins between
 * the two, a read above the newest id alone would miss it. Room for ten replicas' full batches in flight at once.
 */
const CATCH_UP_OVERLAP = 10 * TURN_LOG_BATCH_SIZE;
/**
 * Ids already handed out: batches of two replicas can interleave, so one id range may hold another's turns, and
 * a catch-up reads the overlap again. More than a catch-up reads.
 */
const REMEMBERED_IDS = 2 * (CATCH_UP_OVERLAP + CATCH_UP_LIMIT);

/**
 * The live tail of the turn log, across every service replica: each committed batch is announced on
 * `wf_turn_log` (LISTEN/NOTIFY), read once here and handed to every subscriber (the console's SSE streams).
 * After a gap in the notifications (a lost listening connection) it catches up from the last id it saw.
 */
@Injectable()
export class TurnTail implements OnModuleDestroy {
  private readonly logger = new Logger('TurnTail');
  private readonly subscribers = new Set<TurnSubscriber>();
  private readonly seen = new Set<string>();
  private listening = false;
  /**
   * The newest turn when the tail started: it and older turns are never handed out (nor a batch of another replica
   * that took lower ids and committed just after: the tail starts a moment later). Unknown if unreadable.
   */
  private startId?: bigint;
  /** The newest turn id handed out, or `startId`; the catch-up after a gap starts there. */
  private lastId?: string;
  private reading = Promise.resolve();

  constructor(
    private readonly notifications: PgNotifications,
    private readonly queries: TurnLogQueries,
  ) {}

  /** Adds a subscriber; the returned function removes it. */
  subscribe(subscriber: TurnSubscriber): () => void {
    this.subscribers.add(subscriber);
    this.listen();
    return () => this.subscribers.delete(subscriber);
  }

  onModuleDestroy(): void {
    this.subscribers.clear();
  }

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    // The tail starts here. Every read waits for it: PostgreSQL may hand a new listener notifications committed
    // before its LISTEN, and what commits between this and the LISTEN is caught up once it takes effect.
    this.reading = this.queries.latestId().then(
      (id) => {
        this.startId = BigInt(id);
        this.lastId = id;
      },
      (error: unknown) => this.logger.warn(`Could not read where the live tail starts: ${String(error)}`),
    );
    this.notifications.channel(TURN_LOG_CHANNEL).subscribe(
      (message) => {
        const match = /^(\d+)-(\d+)$/.exec(message);
        if (match) this.read(() => this.batch(match[1], match[2]));
      },
      () => this.read(() => this.catchUp()),
    );
  }

  /**
   * An announced batch, read only while someone watches: with nobody subscribed (the last Live tab closed) the
   * tail still listens, but reads nothing, and a catch-up starts after the batches it let pass.
   */
  private async batch(first: string, last: string): Promise<TurnRow[]> {
    if (this.subscribers.size > 0) return this.queries.range(first, last);
    if (this.lastId === undefined || BigInt(last) > BigInt(this.lastId)) this.lastId = last;
    return [];
  }

  /** What committed since the newest turn handed out, and late batches below it (`CATCH_UP_OVERLAP`). */
  private async catchUp(): Promise<TurnRow[]> {
    if (this.lastId === undefined) return [];
    const floor = BigInt(this.lastId) - BigInt(CATCH_UP_OVERLAP);
    const from = this.startId !== undefined && this.startId > floor ? this.startId : floor;
    return this.queries.after(String(from < 0n ? 0n : from), CATCH_UP_OVERLAP + CATCH_UP_LIMIT);
  }

  /** One read at a time, in the order the notifications came. */
  private read(load: () => Promise<TurnRow[]>): void {
    this.reading = this.reading.then(async () => {
      try {
        this.deliver(await load());
      } catch (error: unknown) {
        this.logger.warn(`Could not read new turns for the live tail: ${String(error)}`);
      }
    });
  }

  private deliver(rows: readonly TurnRow[]): void {
    const start = this.startId;
    const fresh = rows.filter((row) => !this.seen.has(row.id) && (start === undefined || BigInt(row.id) > start));
    if (fresh.length === 0) return;
    for (const row of fresh) {
      this.seen.add(row.id);
      if (this.lastId === undefined || BigInt(row.id) > BigInt(this.lastId)) this.lastId = row.id;
    }
    if (this.seen.size > REMEMBERED_IDS) {
      const excess = this.seen.size - REMEMBERED_IDS;
      let dropped = 0;
      for (const id of this.seen) {
        if (dropped++ >= excess) break;
        this.seen.delete(id);
      }
    }
    for (const subscriber of this.subscribers) subscriber(fresh);
  }
}
