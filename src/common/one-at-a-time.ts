/**
 * Runs work for the same key one at a time, in arrival order, and work for different keys side by side.
 *
 * Used where every caller of a key would only queue on the same database row lock anyway: waiting here costs
 * a promise, waiting there costs a pooled connection, so one hot row can hold at most one connection per
 * replica instead of its lane's whole share of the pool.
 */
export class OneAtATime {
  private readonly tails = new Map<string, Promise<void>>();

  /** How many keys have work running or waiting (for tests and gauges). */
  get busyKeys(): number {
    return this.tails.size;
  }

  /**
   * Runs `work` once every earlier work for `key` has settled. An abort while waiting rejects with the
   * signal's reason and never runs `work`; once `work` has started, it runs to its end.
   */
  async run<T>(key: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    try {
      await untilAborted(previous, signal);
      return await work();
    } finally {
      release();
      // The last in line forgets the key; anyone later chained onto `tail` and set their own.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

function untilAborted(turn: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return turn;
  return new Promise<void>((resolve, reject) => {
    const abort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', abort, { once: true });
    void turn.then(() => {
      signal.removeEventListener('abort', abort);
      resolve();
    });
  });
}
