import { Injectable } from '@nestjs/common';
import { GrpcHealth } from './grpc-health';

/** The running gRPC server, as far as others need it: where it listens and how to stop it. */
@Injectable()
export class GrpcEndpoint {
  /** `host:port` as bound (GRPC_PORT=0 resolved to the real port); unset until `connectGrpc` started it. */
  address?: string;
  port?: number;
  private server?: { close(): Promise<void> };
  private forceShutdown?: () => void;

  constructor(private readonly health: GrpcHealth) {}

  started(address: string, port: number, server: { close(): Promise<void> }, forceShutdown: () => void): void {
    this.address = address;
    this.port = port;
    this.server = server;
    this.forceShutdown = forceShutdown;
  }

  /**
   * Stops taking calls and resolves once the running ones have finished (health Watch streams are ended,
   * clients get GOAWAY). Nothing happens when gRPC is not served; closing twice is harmless. `withinMs`: how long
   * the running calls may take; then every connection is cut (grpc-js has no timeout of its own for a call, so a
   * client that never ends its request, or keeps a reflection stream open, would hold the shutdown for ever).
   * Resolves true when the calls finished, false when they were cut.
   */
  async close(withinMs?: number): Promise<boolean> {
    this.health.endWatches();
    const closing = this.server?.close();
    if (!closing) return true;
    if (withinMs === undefined) return closing.then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      closing.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, withinMs)))),
    ]);
    clearTimeout(timer);
    if (!finished) {
      this.forceShutdown?.();
      await closing.catch(() => undefined);
    }
    return finished;
  }
}
