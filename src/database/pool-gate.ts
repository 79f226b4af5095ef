import type { Deadline } from '../common/deadline';

/** Waiting for a pool connection took longer than the work may wait: back-pressure, not a database failure. */
export class PoolWaitTimeoutError extends Error {
  readonly code = 'POOL_WAIT_TIMEOUT';

  constructor(
    readonly lane: string,
    readonly waitedMs: number,
  ) {
    super(`no PostgreSQL connection free for "${lane}" within ${Math.round(waitedMs)} ms (the pool is busy)`);
    this.name = 'PoolWaitTimeoutError';
  }
}

export interface PoolGateOptions {
  /** Connections the pool may have checked out at once. */
  readonly size: number;
  /** Fraction of `size` one lane may hold at once (at least one connection). */
  readonly laneShare: number;
  /** Longest wait for work without a deadline of its own (background work). */
  readonly maxWaitMs: number;
}

interface Waiter {
  readonly lane: string;
  readonly since: number;
  readonly grant: (release: () => void) => void;
  readonly timer?: NodeJS.Timeout;
}

/**
 * Hands out the pool's connections: at most `size` at once, at most a share of them to one lane (a turn's
 * intent, or background work), and, when connections are short, to the waiting lanes in turn, so one hot
 * intent queues behind itself instead of in front of everybody. A waiter gives up at its deadline.
 */
export class PoolGate {
  private inUse = 0;
  private readonly held = new Map<string, number>();
  /** Lanes with waiters, in the order they will be served; each lane's waiters in arrival order. */
  private readonly lines = new Map<string, Waiter[]>();
  readonly laneLimit: number;

  constructor(private readonly options: PoolGateOptions) {
    this.laneLimit = Math.max(1, Math.floor(options.size * options.laneShare));
  }

  /** Connections handed out and not yet given back. */
  get busy(): number {
    return this.inUse;
  }

  get waiting(): number {
    let count = 0;
    for (const line of this.lines.values()) count += line.length;
    return count;
  }

  /**
   * Resolves with the function that gives the slot back, once a connection may be taken; rejects with
   * `PoolWaitTimeoutError` when `deadline` (or `maxWaitMs` without one) passes first.
   */
  enter(lane: string, deadline?: Deadline): Promise<() => void> {
    if (!this.lines.has(lane) && this.mayTake(lane)) return Promise.resolve(this.take(lane));
    const since = performance.now();
    const waitMs = deadline ? deadline.remainingMs : this.options.maxWaitMs;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        lane,
        since,
        grant: resolve,
        timer: setTimeout(() => {
          this.remove(waiter);
          reject(new PoolWaitTimeoutError(lane, performance.now() - since));
        }, waitMs),
      };
      const line = this.lines.get(lane);
      if (line) line.push(waiter);
      else this.lines.set(lane, [waiter]);
    });
  }

  private mayTake(lane: string): boolean {
    return this.inUse < this.options.size && (this.held.get(lane) ?? 0) < this.laneLimit;
  }

  private take(lane: string): () => void {
    this.inUse += 1;
    this.held.set(lane, (this.held.get(lane) ?? 0) + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.inUse -= 1;
      const left = (this.held.get(lane) ?? 1) - 1;
      if (left === 0) this.held.delete(lane);
      else this.held.set(lane, left);
      this.serve();
    };
  }

  /** Grants free slots to waiting lanes in turn; a served lane goes to the back of the order. */
  private serve(): void {
    let progressed = true;
    while (progressed && this.inUse < this.options.size) {
      progressed = false;
      for (const [lane, line] of this.lines) {
        if (!this.mayTake(lane)) continue;
        const waiter = line.shift() as Waiter;
        this.lines.delete(lane);
        if (line.length > 0) this.lines.set(lane, line);
        clearTimeout(waiter.timer);
        waiter.grant(this.take(lane));
        progressed = true;
        break;
      }
    }
  }

  private remove(waiter: Waiter): void {
    const line = this.lines.get(waiter.lane);
    if (!line) return;
    const index = line.indexOf(waiter);
    if (index >= 0) line.splice(index, 1);
    if (line.length === 0) this.lines.delete(waiter.lane);
  }
}
