/**
 * Counts work that goes on by itself (a turn whose caller has gone, the write that stores its reply) so that a stop
 * can wait for it before the pools close under it. A counter, not a set of promises: it costs a turn nothing to make.
 */
export class WorkInFlight {
  private running = 0;
  private readonly waiters: (() => void)[] = [];

  started(): void {
    this.running += 1;
  }

  finished(): void {
    this.running -= 1;
    if (this.running === 0) for (const wake of this.waiters.splice(0)) wake();
  }

  /** How many are running now. */
  get size(): number {
    return this.running;
  }

  /** Resolves once none is running, or after `timeoutMs`, with the number still running then. */
  async settled(timeoutMs: number): Promise<number> {
    if (this.running > 0 && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.running;
  }
}
