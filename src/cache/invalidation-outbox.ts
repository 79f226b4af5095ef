import { Logger } from '@nestjs/common';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { runInBackground } from '../common/work-scope';
import { PEER_QUIET_MS } from './peers';

const RETRY_DELAYS_MS = [50, 100, 250, 500, 1000];
/** Held invalidations beyond this many become one that drops everything (see `dropEverything`). */
const MAX_HELD = 1000;
/** How late a message may reach a replica whose round trip still succeeds (the channels' round trip timeout). */
const DELIVERY_MARGIN_MS = 500;
/** Held invalidations sent in one go: a burst of writes costs a round trip, not one each. */
const BATCH = 100;

interface Held {
  readonly message: string;
  readonly delivered: (() => void)[];
}

/**
 * The invalidations this replica sends through PostgreSQL, in order, each until PostgreSQL takes it (a lost
 * connection, a short outage of the primary): the write it announces has committed, and the other replicas still
 * hold what it changed. While one is held this replica says nothing else (no presence message either): the others
 * then find it quiet (PEER_QUIET_MS) and trust no entry until they hear from it again. `send` resolves once the
 * message was taken, or once every other replica must have found this one quiet, so the turn that made the write is
 * answered only when no other replica serves what it changed.
 */
export class InvalidationOutbox {
  private readonly logger = new Logger('Cache');
  private held: Held[] = [];
  private sending = false;
  private closed = false;
  /**
   * When a message of this replica was last taken on any channel: the others heard from it then. From its start
   * (when it says it is there) a held invalidation waits as long.
   */
  private saidAt = Date.now();

  constructor(
    /** Publishes the messages in their order; all or none are taken. */
    private readonly publish: (messages: readonly string[]) => Promise<void>,
    /** A message that makes every replica drop its whole in-process tier, for when too many are held. */
    private readonly dropEverything: () => string,
  ) {}

  /** Whether an invalidation is waiting to be taken. */
  get holding(): boolean {
    return this.held.length > 0;
  }

  /** A message of this replica was taken (on this channel or another one): the others heard from it. */
  said(): void {
    this.saidAt = Date.now();
  }

  async send(message: string): Promise<void> {
    const delivered = new Promise<void>((resolve) => this.hold(message, resolve));
    this.sendHeld();
    await this.deliveredOrQuiet(delivered);
  }

  /** Stops sending; what is held stays unsent (the others forget this replica, and drop everything, in time). */
  close(): void {
    this.closed = true;
  }

  private hold(message: string, delivered: () => void): void {
    if (this.held.length < MAX_HELD) {
      this.held.push({ message, delivered: [delivered] });
      return;
    }
    const waiting = this.held.flatMap((held) => held.delivered);
    this.held = [{ message: this.dropEverything(), delivered: [...waiting, delivered] }];
  }

  private sendHeld(): void {
    if (this.sending || this.closed) return;
    this.sending = true;
    // On behalf of every turn that held a message, and of none: outside their traces, lanes and deadlines.
    void context.with(ROOT_CONTEXT, () => runInBackground(() => this.sendInOrder()));
  }

  private async sendInOrder(): Promise<void> {
    let failures = 0;
    while (this.held.length > 0 && !this.closed) {
      const batch = this.held.slice(0, BATCH);
      try {
        await this.publish(batch.map((held) => held.message));
      } catch (error: unknown) {
        if (failures === 0) {
          const why = `could not notify the other replicas of a write (${String(error)})`;
          this.logger.error(`Cache: ${why}; sent again until PostgreSQL takes it`);
        }
        await pause(RETRY_DELAYS_MS[Math.min(failures++, RETRY_DELAYS_MS.length - 1)]);
        continue;
      }
      this.said();
      if (failures > 0) {
        this.logger.log(`Cache: PostgreSQL takes notifications again (after ${failures} failed attempt(s))`);
        failures = 0;
      }
      for (const sent of batch) {
        // Too many held meanwhile: `sent` was merged into one that drops everything, still to be sent.
        const index = this.held.indexOf(sent);
        if (index >= 0) this.held.splice(index, 1);
        for (const delivered of sent.delivered) delivered();
      }
    }
    this.sending = false;
  }

  /** Until `delivered`, or until the others must have found this replica quiet (the time moves when it says more). */
  private async deliveredOrQuiet(delivered: Promise<void>): Promise<void> {
    let done = false;
    void delivered.then(() => (done = true));
    for (;;) {
      const leftMs = this.saidAt + PEER_QUIET_MS + DELIVERY_MARGIN_MS - Date.now();
      if (done || leftMs <= 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([delivered, new Promise<void>((resolve) => (timer = setTimeout(resolve, leftMs)))]);
      clearTimeout(timer);
    }
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
