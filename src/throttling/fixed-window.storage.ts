import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';

interface Window {
  hits: number;
  expiresAt: number;
  blockedUntil: number;
}

const SWEEP_INTERVAL_MS = 60_000;
/**
 * Counters held at most (~200 bytes each, so ~20 MB): one per client address and per caller. Past it the oldest
 * counter is forgotten, which lets that address start afresh (fails open) rather than let a spread of addresses
 * grow the heap without bound.
 */
export const MAX_WINDOWS = 100_000;

/**
 * In-memory fixed-window counters: O(1) per request. The throttler's own in-memory storage keeps one
 * timestamp per hit and filters them all on every request, which at thousands of requests per second
 * costs more than the rest of the request path.
 */
export class FixedWindowStorage implements ThrottlerStorage {
  private readonly windows = new Map<string, Window>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxWindows = MAX_WINDOWS,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  increment(key: string, ttl: number, limit: number, blockDuration: number): Promise<ThrottlerStorageRecord> {
    return Promise.resolve(this.hit(key, ttl, limit, blockDuration));
  }

  /** `increment` without the promise: a request's two counts (its address, its caller) take no turn of the loop. */
  hit(key: string, ttl: number, limit: number, blockDuration: number): ThrottlerStorageRecord {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || (now >= window.expiresAt && now >= window.blockedUntil)) {
      window = { hits: 0, expiresAt: now + ttl, blockedUntil: 0 };
      // Re-inserted, so that the map's order is the order windows started in, and the first one the oldest.
      this.windows.delete(key);
      if (this.windows.size >= this.maxWindows) this.forgetOldest();
      this.windows.set(key, window);
    }
    if (now < window.blockedUntil) return this.record(window, now, true);
    window.hits += 1;
    const blocked = window.hits > limit;
    if (blocked) window.blockedUntil = now + Math.max(blockDuration, window.expiresAt - now);
    return this.record(window, now, blocked);
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private record(window: Window, now: number, isBlocked: boolean): ThrottlerStorageRecord {
    return {
      totalHits: window.hits,
      timeToExpire: Math.max(0, Math.ceil((window.expiresAt - now) / 1000)),
      isBlocked,
      timeToBlockExpire: isBlocked ? Math.max(1, Math.ceil((window.blockedUntil - now) / 1000)) : 0,
    };
  }

  /** The window that started first: expired or not, it is the one least likely to still matter. */
  private forgetOldest(): void {
    const oldest = this.windows.keys().next();
    if (!oldest.done) this.windows.delete(oldest.value);
  }

  /** How many counters are held (for tests and the heap's sake). */
  get size(): number {
    return this.windows.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, window] of this.windows) {
      if (now >= window.expiresAt && now >= window.blockedUntil) this.windows.delete(key);
    }
  }
}
