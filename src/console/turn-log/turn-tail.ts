import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { PgNotifications } from '../../database/pg-notifications';
import { TURN_LOG_BATCH_SIZE, TURN_LOG_CHANNEL } from './turn-log.writer';
import { TurnLogQueries, type TurnRow } from './turn-log.queries';

export type TurnSubscriber = (turns: readonly TurnRow[]) => void;
/** Told that turns may have been lost to its subscriber (their read failed, retries too): its list has a hole. */
export type GapSubscriber = () => void;

/** Rows read for the tail; not complete when more were there than the read takes. */
interface TailRead {
  readonly rows: TurnRow[];
  readonly complete: boolean;
}

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
/** Waits before reading again what could not be read: a blip of the pool must not cost the viewers turns. */
const READ_RETRY_DELAYS_MS = [250, 1000];

/**
 * The live tail of the turn log, across every service replica: each committed batch is announced on
 * `wf_turn_log` (LISTEN/NOTIFY), read once here and handed to every subscriber (the console's SSE streams).
 * After a gap in the notifications (a lost listening connection) it catches up from the last id it saw. A read
 * that fails is tried again; one that still fails tells the subscribers they have a gap, and the next read
 * catches up from the last id handed out, which the turns it lost are above.
 */
@Injectable()
export class TurnTail implements OnModuleDestroy {
  private readonly logger = new Logger('TurnTail');
  private readonly subscribers = new Map<TurnSubscriber, GapSubscriber | undefined>();
  private readonly seen = new Set<string>();
  private listening = false;
  /**
   * The newest turn when the tail started: it and older turns are never handed out (nor a batch of another replica
   * that took lower ids and committed just after: the tail starts a moment later). Unknown if unreadable.
   */
  private startId?: bigint;
  /** The newest turn id handed out, or `startId`; the catch-up after a gap starts there. */
  private lastId?: string;
  /** A read failed for good: turns above `lastId` may not have been handed out, so the next read catches up. */
  private behind = false;
  private reading = Promise.resolve();

  constructor(
    private readonly notifications: PgNotifications,
    private readonly queries: TurnLogQueries,
  ) {}

  /** Adds a subscriber, and what to tell it when turns were lost to it; the returned function removes it. */
  subscribe(subscriber: TurnSubscriber, onGap?: GapSubscriber): () => void {
    this.subscribers.set(subscriber, onGap);
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
  private async batch(first: string, last: string): Promise<TailRead> {
    if (this.subscribers.size > 0) {
      return this.behind ? this.catchUp() : { rows: await this.queries.range(first, last), complete: true };
    }
    if (this.lastId === undefined || BigInt(last) > BigInt(this.lastId)) this.lastId = last;
    this.behind = false;
    return { rows: [], complete: true };
  }

  /**
   * What committed since the newest turn handed out, and late batches below it (`CATCH_UP_OVERLAP`); not complete
   * when more committed than one catch-up reads.
   */
  private async catchUp(): Promise<TailRead> {
    if (this.lastId === undefined) return { rows: [], complete: true };
    const floor = BigInt(this.lastId) - BigInt(CATCH_UP_OVERLAP);
    const from = this.startId !== undefined && this.startId > floor ? this.startId : floor;
    const limit = CATCH_UP_OVERLAP + CATCH_UP_LIMIT;
    const rows = await this.queries.after(String(from < 0n ? 0n : from), limit);
    return { rows, complete: rows.length < limit };
  }

  /** One read at a time, in the order the notifications came. The chain never rejects: a rejection would end it. */
  private read(load: () => Promise<TailRead>): void {
    this.reading = this.reading.then(async () => {
      const read = await this.retried(load);
      if (read) this.behind = false;
      if (read) this.deliver(read.rows);
      if (!read?.complete) this.fallBehind();
    });
  }

  /** `load`'s rows, tried again after `READ_RETRY_DELAYS_MS`; undefined when every try failed. */
  private async retried(load: () => Promise<TailRead>): Promise<TailRead | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await load();
      } catch (error: unknown) {
        const delay = READ_RETRY_DELAYS_MS[attempt];
        if (delay === undefined) {
          this.logger.warn(
            `Could not read new turns for the live tail (${attempt + 1} tries); its viewers are told they missed some: ${String(error)}`,
          );
          return undefined;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** Turns above `lastId` may not have been handed out: the subscribers are told (once), the next read catches up. */
  private fallBehind(): void {
    if (!this.behind) {
      for (const onGap of this.subscribers.values()) this.call(() => onGap?.());
    }
    this.behind = true;
  }

  /** A subscriber that throws must neither keep the others from their turns nor end the chain of reads. */
  private call(notify: () => void): void {
    try {
      notify();
    } catch (error: unknown) {
      this.logger.warn(`A live tail subscriber failed: ${String(error)}`);
    }
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
    for (const subscriber of this.subscribers.keys()) this.call(() => subscriber(fresh));
  }
}
