import {
  Metadata,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  status,
} from '@grpc/grpc-js';
import { Injectable } from '@nestjs/common';
import { GrpcHealth } from './grpc-health';

/** How long the statuses sent to cut calls get to reach their clients before the connections are destroyed. */
const CUT_STATUS_FLUSH_MS = 100;

/** The running gRPC server, as far as others need it: where it listens and how to stop it. */
@Injectable()
export class GrpcEndpoint {
  /** `host:port` as bound (GRPC_PORT=0 resolved to the real port); unset until `connectGrpc` started it. */
  address?: string;
  port?: number;
  private server?: { close(): Promise<void> };
  private forceShutdown?: () => void;
  private cutting = false;
  /** Calls that have not sent their status yet: at the cut, each is told UNAVAILABLE before its connection goes. */
  private readonly running = new Set<ServerInterceptingCall>();

  constructor(private readonly health: GrpcHealth) {}

  started(address: string, port: number, server: { close(): Promise<void> }, forceShutdown: () => void): void {
    this.address = address;
    this.port = port;
    this.server = server;
    this.forceShutdown = forceShutdown;
  }

  /**
   * The server interceptor that keeps the calls still running: put it right after the access log, so that every
   * status sent by the interceptors after it or the handler passes it, and the one it sends at the cut is logged.
   */
  runningCalls(): ServerInterceptor {
    return (_method, next: ServerInterceptingCallInterface) => {
      const call: ServerInterceptingCall = new ServerInterceptingCall(next, {
        start: (nextStart) =>
          nextStart({
            onCancel: () => this.running.delete(call),
          }),
        sendStatus: (sent, nextStatus) => {
          this.running.delete(call);
          nextStatus(sent);
        },
      });
      this.running.add(call);
      return call;
    };
  }

  /** Whether the calls still open are being cut, the shutdown's grace being over (the access log says so). */
  get cuttingAtShutdown(): boolean {
    return this.cutting;
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
      this.cutting = true;
      await this.tellRunningCallsUnavailable();
      this.forceShutdown?.();
      await closing.catch(() => undefined);
    }
    return finished;
  }

  /**
   * Ends each call still running with UNAVAILABLE, which clients retry (on another replica), where the connection's
   * reset alone reads as CANCELLED ("Call cancelled"), which they do not; then gives the statuses a moment to go out.
   */
  private async tellRunningCallsUnavailable(): Promise<void> {
    if (this.running.size === 0) return;
    for (const call of [...this.running]) {
      call.sendStatus({
        code: status.UNAVAILABLE,
        details: 'The service is shutting down; retry on another replica.',
        metadata: new Metadata(),
      });
    }
    await new Promise((resolve) => setTimeout(resolve, CUT_STATUS_FLUSH_MS));
  }
}
