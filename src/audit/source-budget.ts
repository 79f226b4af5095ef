/** Sources remembered at once; past it, new sources share one budget (so a spray of addresses stays bounded). */
const MAX_SOURCES = 10_000;
export const OVERFLOW_SOURCE = 'overflow';

interface Window {
  endsAt: number;
  written: number;
  /** Rows dropped in this window, by event name. */
  dropped: Map<string, number>;
}

/** What one source's closed window dropped, by event: the audit log writes one summary row for each. */
export interface DroppedSummary {
  readonly source: string;
  readonly event: string;
  readonly dropped: number;
}

/**
 * At most `maxPerWindow` audit rows per source (client address, IPv6 by /64) in each fixed window of
 * `windowMs`; the rest are counted by event and reported when the window closes. In-process, per replica.
 */
export class SourceBudget {
  private readonly windows = new Map<string, Window>();
  private readonly pending: DroppedSummary[] = [];

  constructor(
    private readonly maxPerWindow: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a row of `event` from `source` may be written; counts it as dropped when not. */
  admit(source: string, event: string): boolean {
    if (this.maxPerWindow <= 0) return true;
    const now = this.now();
    let key = source;
    let window = this.windows.get(key);
    if (window && window.endsAt <= now) window = undefined;
    if (!window && !this.windows.has(key) && this.windows.size >= MAX_SOURCES) {
      key = OVERFLOW_SOURCE;
      window = this.windows.get(key);
      if (window && window.endsAt <= now) window = undefined;
    }
    if (!window) {
      // A closed window replaced before a sweep saw it: what it dropped is reported by the next sweep.
      const closed = this.windows.get(key);
      if (closed) this.report(key, closed);
      window = { endsAt: now + this.windowMs, written: 0, dropped: new Map() };
      this.windows.set(key, window);
    }
    if (window.written < this.maxPerWindow) {
      window.written++;
      return true;
    }
    window.dropped.set(event, (window.dropped.get(event) ?? 0) + 1);
    return false;
  }

  /** Forgets closed windows and returns what they dropped (an open window reports when it closes). */
  sweep(): DroppedSummary[] {
    const now = this.now();
    for (const [source, window] of this.windows) {
      if (window.endsAt > now) continue;
      this.report(source, window);
      this.windows.delete(source);
    }
    return this.pending.splice(0);
  }

  private report(source: string, window: Window): void {
    for (const [event, dropped] of window.dropped) this.pending.push({ source, event, dropped });
  }
}
