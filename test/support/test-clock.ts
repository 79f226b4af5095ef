import { Clock } from '../../src/common/clock';

/**
 * A clock that only moves when told to, or when someone sleeps on it: `sleep(ms)` advances the time by `ms` and
 * resolves at once (after letting other work run), so code that polls or waits out a budget runs its whole
 * course without waiting.
 */
export class TestClock extends Clock {
  readonly sleeps: number[] = [];

  constructor(private time = Date.parse('2026-12-01T12:00:00Z')) {
    super();
  }

  now(): number {
    return this.time;
  }

  advance(ms: number): void {
    this.time += ms;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    this.time += ms;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
