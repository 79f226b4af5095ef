import { Injectable } from '@nestjs/common';
import { GrpcHealth } from './grpc-health';

/** The running gRPC server, as far as others need it: where it listens and how to stop it. */
@Injectable()
export class GrpcEndpoint {
  /** `host:port` as bound (GRPC_PORT=0 resolved to the real port); unset until `connectGrpc` started it. */
  address?: string;
  port?: number;
  private server?: { close(): Promise<void> };

  constructor(private readonly health: GrpcHealth) {}

  started(address: string, port: number, server: { close(): Promise<void> }): void {
    this.address = address;
    this.port = port;
    this.server = server;
  }

  /**
   * Stops taking calls and resolves once the running ones have finished (health Watch streams are ended,
   * clients get GOAWAY). Nothing happens when gRPC is not served; closing twice is harmless.
   */
  async close(): Promise<void> {
    this.health.endWatches();
    await this.server?.close();
  }
}
