/** A pg-boss queue as the service works it: its settings in PostgreSQL, and its worker's lanes. */
export interface QueueDefinition {
  readonly name: string;
  /** A job whose runner has not finished it after this long (e.g. its pod died) is retried. */
  readonly expireInSeconds: number;
  readonly retryLimit: number;
  readonly retryDelaySeconds: number;
  /** A queue (registered too) that gets a copy of each job whose runs all failed, for its own handler to settle. */
  readonly deadLetter?: string;
  /** Jobs of this queue one replica runs at once (1 unless said). */
  readonly concurrency?: number;
  /**
   * While the queue is idle, its lanes take turns asking PostgreSQL (see idleGatedSource): for queues there are many
   * of (each caller's deliveries), at the price of a burst's later jobs waiting up to one poll interval more.
   */
  readonly idleLanesTakeTurns?: boolean;
}
