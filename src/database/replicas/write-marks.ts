import { LRUCache } from 'lru-cache';
import { UNKNOWN_POSITION, UNKNOWN_POSITION_TTL_MS } from '../../common/write-position';
import { hasReached, walPosition } from './wal-position';

/** Long enough for any replica that is still read from to have replayed the write (REPLICA_MAX_LAG_MS is less). */
const MARK_TTL_MS = 3_600_000;
const MAX_MARKS = 100_000;
/** Past every real position: no replica reaches it. */
const UNREACHABLE = 'FFFFFFFF/FFFFFFFF';

/**
 * Where each scope (a customer, a provider) was last written: the primary's WAL position after the write committed,
 * here or on another service replica (told through the cache's invalidation). A read for the scope may go to a
 * database replica only once that replica has replayed past it (read-your-writes without a fixed sleep).
 */
export class WriteMarks {
  /**
   * Made on the first mark: lru-cache allocates its arrays for every entry it may hold at once (about 10 ms of a
   * start for 100,000 with ttl), and a service without read replicas never marks a write.
   */
  private table?: LRUCache<string, string>;

  private get marks(): LRUCache<string, string> {
    return (this.table ??= new LRUCache<string, string>({ max: MAX_MARKS, ttl: MARK_TTL_MS }));
  }

  note(scope: string, position: string): void {
    const known = this.table?.get(scope);
    if (known === undefined || !hasReached(known, position)) this.marks.set(scope, position);
  }

  /** A write committed but its position could not be read: the scope reads from the primary for a while. */
  noteUnknown(scope: string): void {
    this.marks.set(scope, UNREACHABLE, { ttl: UNKNOWN_POSITION_TTL_MS });
  }

  /**
   * A position another service replica passed on (with an invalidation, or kept in Redis): a WAL position, or
   * `unknown`; anything else is ignored.
   */
  noteReported(scope: string, position: string): void {
    if (position === UNKNOWN_POSITION) return this.noteUnknown(scope);
    if (isWalPosition(position)) this.note(scope, position);
  }

  /** The last write's position for the scope, if one is remembered. */
  of(scope: string): string | undefined {
    return this.table?.get(scope);
  }
}

function isWalPosition(text: string): boolean {
  try {
    walPosition(text);
    return true;
  } catch {
    return false;
  }
}
