import { connect, createServer, type Server, type Socket } from 'node:net';

/** A simple-query COMMIT as the pg client sends it: 'Q', length 11, "COMMIT\0". */
const COMMIT = Buffer.from('Q\x00\x00\x00\x0bCOMMIT\x00', 'latin1');

/**
 * A TCP proxy in front of PostgreSQL that, once armed, lets through the COMMIT of a transaction that ran the
 * statement named `marker` and then cuts the client's connection as the server's answer arrives: the server has
 * committed, and the client never hears it (what a connection lost at the worst moment looks like).
 */
export class CommitLosingProxy {
  armed = false;
  /** `statement`: cut the connection as the statement named `marker` is sent instead, before it reaches the server. */
  cutAt: 'commit-answer' | 'statement' = 'commit-answer';
  /** How many commits were cut off. */
  cut = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private target?: URL;

  private constructor(private readonly marker: string) {
    this.server = createServer((client) => this.pipe(client));
  }

  static async start(marker: string): Promise<CommitLosingProxy> {
    const proxy = new CommitLosingProxy(marker);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** `databaseUrl` with the proxy as its host; the proxy forwards to the server it names. */
  through(databaseUrl: string): string {
    this.target = new URL(databaseUrl);
    const url = new URL(databaseUrl);
    url.host = `127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return url.toString();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pipe(client: Socket): void {
    if (!this.target) throw new Error('CommitLosingProxy: through() names the server first');
    const upstream = connect(Number(this.target.port || 5432), this.target.hostname);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    }
    let markerSeen = false;
    let cutAtAnswer = false;
    client.on('data', (chunk: Buffer) => {
      if (this.armed && this.cutAt === 'statement' && chunk.includes(this.marker)) {
        this.armed = false;
        this.cut += 1;
        client.destroy();
        upstream.destroy();
        return;
      }
      if (chunk.includes(this.marker)) markerSeen = true;
      if (chunk.includes(COMMIT)) {
        if (this.armed && markerSeen) {
          this.armed = false;
          cutAtAnswer = true;
          this.cut += 1;
        }
        markerSeen = false;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!cutAtAnswer) {
        client.write(chunk);
        return;
      }
      client.destroy();
      upstream.destroy();
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  }
}
