import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * What the network path between the service and PostgreSQL does:
 * - `pass`: forwards both ways;
 * - `reset`: resets every open connection (RST) and each new one at once;
 * - `black-hole`: accepts connections but forwards nothing either way, and the connections open when it
 *   began never carry anything again, nor end, whatever the server does (like a failed-over primary's old
 *   address, its host gone): only connections made after `heal()` work;
 * - `slow`: forwards both ways with `delayMs` added to every chunk.
 */
export type PathMode = 'pass' | 'reset' | 'black-hole' | 'slow';

interface Link {
  readonly client: Socket;
  readonly server: Socket;
  /** A link swallowed by a black hole stays dead. */
  dead: boolean;
}

/** A TCP proxy on 127.0.0.1 in front of PostgreSQL whose path the test breaks and heals. */
export class FaultProxy {
  private readonly links = new Set<Link>();
  private mode: PathMode = 'pass';
  private delayMs = 0;
  /** New connections are accepted and never carried (a server too busy to take one); open ones pass. */
  private stallingNew = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private upstreamPort: number,
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  static async start(upstreamPort: number): Promise<FaultProxy> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('the proxy has no port');
    const proxy = new FaultProxy(server, address.port, upstreamPort);
    return proxy;
  }

  get connections(): number {
    return this.links.size;
  }

  /** Resets every open connection now, and every new one until `heal()`. */
  reset(): void {
    this.mode = 'reset';
    for (const link of this.links) this.cut(link);
  }

  /** Swallows everything from now on; the connections open now stay dead even after `heal()`. */
  blackHole(): void {
    this.mode = 'black-hole';
    for (const link of this.links) this.swallow(link);
  }

  /**
   * Accepts new connections but never carries them (an overloaded server, or a pooler waiting for its own
   * server, slow to take a connection); the open ones go on as they are. Until `heal()`.
   */
  stallNew(): void {
    this.stallingNew = true;
  }

  /** Refuses new connections from now on (nothing listens at the address); the open ones go on as they are. */
  stopListening(): void {
    this.server.close();
  }

  /** Adds `delayMs` to every chunk in both directions. */
  slow(delayMs: number): void {
    this.mode = 'slow';
    this.delayMs = delayMs;
  }

  /** New connections go to `upstreamPort` from now on (a failed-over Service's new endpoint); open ones stay as they are. */
  retarget(upstreamPort: number): void {
    this.upstreamPort = upstreamPort;
  }

  heal(): void {
    this.mode = 'pass';
    this.stallingNew = false;
    this.delayMs = 0;
  }

  async close(): Promise<void> {
    for (const link of this.links) this.cut(link);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const server = createConnection({ host: '127.0.0.1', port: this.upstreamPort, noDelay: true });
    const link: Link = { client, server, dead: false };
    this.links.add(link);
    const forget = (): void => {
      this.links.delete(link);
      client.destroy();
      server.destroy();
    };
    client.on('error', forget).on('close', forget);
    // The far end of a swallowed link going away (the old primary stopped, its host gone) is not heard of either:
    // the client's side stays open, as a connection across a black hole does, until the client gives it up.
    const upstreamGone = (): void => (link.dead ? void server.destroy() : forget());
    server.on('error', upstreamGone).on('close', upstreamGone);
    this.forward(link, client, server);
    this.forward(link, server, client);
    if (this.mode === 'black-hole' || this.stallingNew) this.swallow(link);
  }

  private forward(link: Link, from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (link.dead || this.mode === 'black-hole') return;
      if (this.mode === 'slow') {
        setTimeout(() => link.dead || to.write(chunk), this.delayMs);
        return;
      }
      to.write(chunk);
    });
  }

  private swallow(link: Link): void {
    link.dead = true;
  }

  private cut(link: Link): void {
    this.links.delete(link);
    if (!link.client.destroyed) {
      // A socket already closing its side (the client hung up first) cannot be reset: libuv refuses (EINVAL) and
      // Node then never closes the handle, which kept a test process from exiting. It is closed plainly instead.
      if (link.client.writableEnded) link.client.destroy();
      else link.client.resetAndDestroy();
    }
    if (!link.server.destroyed) link.server.destroy();
  }
}
