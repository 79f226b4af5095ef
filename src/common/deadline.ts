/**
 * A point in time a piece of work must be answered by, on the monotonic clock (`performance.now()`), so
 * wall-clock jumps neither shorten nor stretch it. A turn's deadline is fixed when its request arrives;
 * everything after (reading the body, authentication, waiting for a database connection, a duplicate's wait)
 * spends the same budget.
 */
export class Deadline {
  private constructor(
    /** `performance.now()` at which the time is up. */
    readonly at: number,
    /** The whole budget as given, for messages. */
    readonly budgetMs: number,
  ) {}

  /** `budgetMs` from `startedAt` (a `performance.now()` reading; now when omitted). */
  static after(budgetMs: number, startedAt: number = performance.now()): Deadline {
    return new Deadline(startedAt + budgetMs, budgetMs);
  }

  /** Milliseconds left, never below zero. */
  get remainingMs(): number {
    return Math.max(0, this.at - performance.now());
  }

  /** Milliseconds since the deadline started (for a turn: since its request arrived). */
  get elapsedMs(): number {
    return performance.now() - (this.at - this.budgetMs);
  }

  get expired(): boolean {
    return performance.now() >= this.at;
  }

  /** The wall-clock moment of the deadline (for handlers, which see a `Date`). */
  toDate(): Date {
    return new Date(Date.now() + (this.at - performance.now()));
  }

  /** This deadline moved later by `ms` (late work that may outlive its turn). */
  extendedBy(ms: number): Deadline {
    return new Deadline(this.at + ms, this.budgetMs + ms);
  }

  /**
   * Settles with `work`, or rejects with `onExpired()` when the deadline comes first. `work` goes on (its
   * later failure is swallowed here): the caller decides what an unfinished step means.
   */
  race<T>(work: Promise<T>, onExpired: () => Error): Promise<T> {
    const left = this.at - performance.now();
    if (left <= 0) {
      work.catch(() => undefined);
      return Promise.reject(onExpired());
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        work.catch(() => undefined);
        reject(onExpired());
      }, left);
      work.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          // The work's own failure, passed on as it came.
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
          reject(error);
        },
      );
    });
  }
}

/** A step of a turn that could not finish within the turn's deadline (not a failure of what it waited on). */
export class DeadlineReachedError extends Error {
  constructor(readonly step: string) {
    super(`${step}: the turn's deadline was reached`);
    this.name = 'DeadlineReachedError';
  }
}
