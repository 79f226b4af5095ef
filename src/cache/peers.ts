/** How often a replica says it is there, on every channel it listens to (`InvalidationMessage.h`). */
export const PRESENCE_INTERVAL_MS = 1000;
/**
 * A replica not heard from for this long (two presence messages missed) has gone quiet: it may hold an invalidation
 * it could not send (see `InvalidationOutbox`), so an exact read trusts no entry while it stays quiet.
 */
export const PEER_QUIET_MS = 2000;
/**
 * A replica that has listened this long and heard no other is alone: nobody else's invalidation can be on its way,
 * and an exact read needs no round trip. Also how long after the last word from another one it stops waiting.
 */
export const PEERS_FORGOTTEN_MS = 3500;

/** The other service replicas this one hears on its notification channels, by when each was last heard. */
export class Peers {
  private readonly heardAt = new Map<string, number>();
  private listeningSince?: number;

  /** Any message from `origin`. */
  heard(origin: string): void {
    this.heardAt.set(origin, Date.now());
  }

  /** `origin` shut down with nothing left to tell. */
  left(origin: string): void {
    this.heardAt.delete(origin);
  }

  /** The notifications reach this replica (again) from now on: what was said before went unheard. */
  listening(): void {
    this.listeningSince = Date.now();
  }

  /**
   * Whether another replica may have sent something this one has not heard yet: one was heard from lately, or this
   * one has not listened long enough to know (a replica says it is there as soon as it listens).
   */
  mayBeThere(): boolean {
    const now = Date.now();
    if (this.listeningSince === undefined || now - this.listeningSince < PEERS_FORGOTTEN_MS) return true;
    for (const at of this.heardAt.values()) if (now - at < PEERS_FORGOTTEN_MS) return true;
    return false;
  }

  /** Whether one that was heard has not been for PEER_QUIET_MS. */
  quiet(): boolean {
    const now = Date.now();
    for (const at of this.heardAt.values()) if (now - at >= PEER_QUIET_MS) return true;
    return false;
  }

  /** Forgets those not heard for PEERS_FORGOTTEN_MS; whether there were any (gone without saying they left). */
  forgetGone(): boolean {
    const now = Date.now();
    let forgotten = false;
    for (const [origin, at] of this.heardAt) {
      if (now - at < PEERS_FORGOTTEN_MS) continue;
      this.heardAt.delete(origin);
      forgotten = true;
    }
    return forgotten;
  }
}
