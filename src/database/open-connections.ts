/** A connection given up because the path to its server went silent: what it was answering is lost with it. */
export class ConnectionGivenUpError extends Error {
  /** Connection failure (class 08): counted as PostgreSQL out of reach, as the lost connection it is. */
  readonly code = '08006';

  constructor(server: string, why: string) {
    super(`the connection to ${server} was given up: ${why}`);
    this.name = 'ConnectionGivenUpError';
  }
}

/** A connection as the registry sees it: it can be ended at once with an error. */
export interface Abandonable {
  abandon(error: Error): void;
}

/**
 * The process's open PostgreSQL connections by server (host:port), so that all of them can be given up at once when
 * the probe finds the path to their server silent (no answer in time, no route, nobody listening). They share the
 * probe's path, so they are as dead as its own; but a dead path sends nothing, and left alone each would hold its
 * turn, or the next turn that takes it from the pool, for the whole read timeout, while the pool stays full of them
 * long after the address (or the list's next server) serves again.
 */
export class OpenConnections {
  /** Each open connection by server, with when it started opening (a count, not a time). */
  private readonly byServer = new Map<string, Map<Abandonable, number>>();
  private opened = 0;

  /** The moment now: connections that start opening later are not given up by a verdict from before it. */
  now(): number {
    return this.opened;
  }

  add(server: string, connection: Abandonable): void {
    let open = this.byServer.get(server);
    if (!open) this.byServer.set(server, (open = new Map<Abandonable, number>()));
    open.set(connection, ++this.opened);
  }

  delete(server: string, connection: Abandonable): void {
    const open = this.byServer.get(server);
    if (!open?.delete(connection)) return;
    if (open.size === 0) this.byServer.delete(server);
  }

  /**
   * Ends every connection to `server` that started opening by `since` (`now()` when the unanswered round trip
   * began: one opened after it may have reached a server that answers, as when an address moved meanwhile) with a
   * `ConnectionGivenUpError` saying `why`; how many there were.
   */
  giveUp(server: string, why: string, since = this.opened): number {
    const open = this.byServer.get(server);
    if (!open) return 0;
    let givenUp = 0;
    for (const [connection, openedAt] of open) {
      if (openedAt > since) continue;
      open.delete(connection);
      connection.abandon(new ConnectionGivenUpError(server, why));
      givenUp += 1;
    }
    if (open.size === 0) this.byServer.delete(server);
    return givenUp;
  }

  /** How many connections to `server` are open. */
  count(server: string): number {
    return this.byServer.get(server)?.size ?? 0;
  }
}
