import { LRUCache } from 'lru-cache';

interface LocalEntry {
  readonly cache: string;
  readonly scope: string;
  /** The scope's epoch when the value's load began: the entry is good only while the scope still has it. */
  readonly epoch: number;
  readonly value: unknown;
}

export type EvictionReason = 'size' | 'expired';

/**
 * The in-process tier: one LRU for every cache (CACHE_LOCAL_MAX_ENTRIES in all), entries living at most the
 * local TTL. Invalidation does not search for entries: it gives the scope a new epoch, and entries loaded under
 * an older one are never returned again (the LRU drops them in time). A scope whose epoch is forgotten (evicted,
 * or cleared after a missed notification) has no valid entries at all.
 */
export class LocalTier {
  private readonly entries: LRUCache<string, LocalEntry>;
  private readonly epochs: LRUCache<string, number>;
  private nextEpoch = 1;

  constructor(
    maxEntries: number,
    private readonly ttlMs: number,
    onEvicted: (cache: string, reason: EvictionReason) => void,
  ) {
    this.entries = new LRUCache<string, LocalEntry>({
      max: maxEntries,
      ttl: ttlMs,
      dispose: (entry, _key, reason) => {
        if (reason === 'evict') onEvicted(entry.cache, 'size');
        else if (reason === 'expire') onEvicted(entry.cache, 'expired');
      },
    });
    // An epoch must outlive the entries loaded under it, so it gets the same lifetime and room.
    this.epochs = new LRUCache<string, number>({ max: maxEntries, ttl: ttlMs });
  }

  /** The scope's epoch, given one if it has none: taken before a load, checked when storing its result. */
  epochOf(scope: string): number {
    const epoch = this.epochs.get(scope);
    if (epoch !== undefined) return epoch;
    return this.renew(scope);
  }

  get(key: string, scope: string): { value: unknown } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.epochs.get(scope) !== entry.epoch) return undefined;
    return { value: entry.value };
  }

  /** Stores a loaded value unless its scope was invalidated while it loaded. */
  set(key: string, cache: string, scope: string, epoch: number, value: unknown, ttlMs: number): void {
    if (this.epochs.get(scope) !== epoch) return;
    this.entries.set(key, { cache, scope, epoch, value }, { ttl: Math.min(ttlMs, this.ttlMs) });
  }

  /** Every entry of the scope stops being valid, now. */
  invalidate(scope: string): void {
    this.renew(scope);
  }

  /** Forgets everything (a notification may have been missed). */
  clear(): void {
    this.epochs.clear();
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private renew(scope: string): number {
    const epoch = this.nextEpoch++;
    this.epochs.set(scope, epoch);
    return epoch;
  }
}
