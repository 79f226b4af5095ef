import { Server, type ServerCredentials, type ServerInterceptor } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ServerGrpc } from '@nestjs/microservices';
import { ListenError } from '../common/errors/listen-error';
import { GRPC_PACKAGES } from './grpc-proto';
import { addLazyReflection } from './lazy-reflection';

export interface GrpcTransportOptions {
  readonly host: string;
  /** 0 picks a free port; `onBound` is told which. */
  readonly port: number;
  /** Built for the server about to be bound (whether its handshakes can be watched decides the TLS options). */
  readonly credentials: (server: Server) => ServerCredentials;
  readonly packageDefinition: PackageDefinition;
  /**
   * What server reflection describes (the same services; see `loadReflectionDefinitions`), loaded on the first
   * reflection call; none: no reflection.
   */
  readonly reflectionDefinition?: () => PackageDefinition;
  readonly maxReceiveMessageLength: number;
  /** GRPC_MAX_CONNECTION_AGE_MS. */
  readonly maxConnectionAgeMs: number;
  /** Run around every call, in order (the access log). */
  readonly interceptors: ServerInterceptor[];
  /** Called once the port is bound, before any service is added. */
  readonly onBound: (server: Server, address: string, port: number) => void;
  readonly onClose?: () => void;
}

/** `host:port` as grpc-js parses it (IPv6 literals in brackets). */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Calls in flight on one HTTP/2 connection: a bot platform or a proxy in front needs far fewer, and each may buffer a
 * request of up to BODY_LIMIT_BYTES before any guard runs (1,000 such calls held over a gigabyte on one connection).
 */
export const MAX_CONCURRENT_STREAMS = 100;
/** How long the calls running on a connection at its maximum age may still take before it is cut. */
export const MAX_CONNECTION_AGE_GRACE_MS = 30_000;
/** A connection with no call for this long is closed (GOAWAY): a client gone without a word holds nothing. */
export const MAX_CONNECTION_IDLE_MS = 300_000;
/**
 * The server pings a connection quiet for this long, and closes it when the ping is not answered within
 * KEEPALIVE_TIMEOUT_MS: a peer that vanished (a node lost, a NAT's state dropped) is noticed in minutes, not hours.
 */
export const KEEPALIVE_TIME_MS = 60_000;
export const KEEPALIVE_TIMEOUT_MS = 20_000;

/**
 * Nest's gRPC transport with what its stock server lacks: our own (reloadable) credentials, the bound port
 * reported (so port 0 works), the TLS listeners handed over for observation, and server reflection for every
 * service in the definition (unless GRPC_REFLECTION is off). In-flight calls finish on close.
 */
export class FulfillmentGrpcTransport extends ServerGrpc {
  constructor(private readonly transport: GrpcTransportOptions) {
    super({
      url: hostPort(transport.host, transport.port),
      package: GRPC_PACKAGES,
      packageDefinition: transport.packageDefinition,
      maxReceiveMessageLength: transport.maxReceiveMessageLength,
      gracefulShutdown: true,
      onLoadPackageDefinition: (_definition: PackageDefinition, server: Server) => {
        if (transport.reflectionDefinition) addLazyReflection(server, transport.reflectionDefinition);
      },
    });
  }

  override async createClient(): Promise<Server> {
    const server = new Server({
      'grpc.max_receive_message_length': this.transport.maxReceiveMessageLength,
      // Node's default is unlimited: one connection could hold tens of thousands of health Watch streams.
      'grpc.max_concurrent_streams': MAX_CONCURRENT_STREAMS,
      'grpc.max_connection_age_ms': this.transport.maxConnectionAgeMs,
      'grpc.max_connection_age_grace_ms': MAX_CONNECTION_AGE_GRACE_MS,
      'grpc.max_connection_idle_ms': MAX_CONNECTION_IDLE_MS,
      'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
      'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
      interceptors: this.transport.interceptors,
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(this.url, this.transport.credentials(server), (error, bound) =>
        error
          ? reject(
              new ListenError(
                'gRPC server',
                this.transport.host,
                this.transport.port,
                'GRPC_PORT',
                error,
                'GRPC_ENABLED=false',
              ),
            )
          : resolve(bound),
      ),
    );
    this.transport.onBound(server, hostPort(this.transport.host, port), port);
    return server;
  }

  override async close(): Promise<void> {
    this.transport.onClose?.();
    await super.close();
  }
}
