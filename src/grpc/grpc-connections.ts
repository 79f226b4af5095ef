import type { Server, ServerUnaryCall } from '@grpc/grpc-js';
import { Injectable, Logger } from '@nestjs/common';
import type { EventEmitter } from 'node:events';
import type { TLSSocket } from 'node:tls';
import type { ConnectionSecurity } from '../auth/auth-attempt';
import { connectionSecurity, peerIdentity, withValidUntil } from '../auth/tls/peer-identity';
import { TlsRefusals } from '../auth/tls/tls-refusals';
import { AppConfig } from '../config';

const PLAIN: ConnectionSecurity = { encrypted: false, clientCertificateVerified: false };

/**
 * The node:http2 servers of a bound grpc-js server: grpc-js (1.14) keeps them in a private map and offers no
 * public hook for the handshake or the raw headers. Undefined when this grpc-js version keeps them elsewhere.
 */
export function grpcHttp2Servers(server: Server): EventEmitter[] | undefined {
  const internal = (server as unknown as { http2Servers?: unknown }).http2Servers;
  return internal instanceof Map ? [...(internal as Map<EventEmitter, unknown>).keys()] : undefined;
}

/**
 * What the TLS handshake proved about each gRPC connection, in the terms the HTTP guard uses.
 *
 * grpc-js only reports a *verified* peer certificate per call (`getAuthContext`): a certificate presented
 * but not verified (TLS_CLIENT_AUTH=optional) would look like none, and a refused handshake (`require`) is not
 * reported at all. So we watch the port's TLS listeners: each connection is recorded when its
 * handshake ends, keyed by the peer address grpc-js reports for its calls; a refused handshake (with `require`,
 * a missing, expired, unknown-CA or revoked certificate) is audited with its reason, as on HTTPS.
 */
@Injectable()
export class GrpcConnections {
  private readonly logger = new Logger('GrpcTls');
  private readonly byPeer = new Map<string, ConnectionSecurity>();
  private observing = false;

  constructor(
    private readonly config: AppConfig,
    private readonly refusals: TlsRefusals,
  ) {}

  /** Starts watching the TLS listeners of a bound grpc-js server. */
  observe(server: Server): void {
    if (!this.config.tls) return;
    const listeners = grpcHttp2Servers(server);
    if (!listeners) {
      this.logger.warn(
        'Cannot watch gRPC TLS handshakes with this grpc-js version: refused client certificates are not audited ' +
          'and an unverified one counts as none (TLS_CLIENT_AUTH=optional)',
      );
    }
    this.observing = (listeners?.length ?? 0) > 0;
    for (const listener of listeners ?? []) {
      listener.on('secureConnection', (socket: TLSSocket) => this.track(socket));
      listener.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) =>
        this.refusals.handshakeFailed(socket, error, 'grpc'),
      );
    }
  }

  /** The connection a call arrived on. */
  security(call: Pick<ServerUnaryCall<unknown, unknown>, 'getPeer' | 'getAuthContext'>): ConnectionSecurity {
    if (!this.config.tls) return PLAIN;
    const known = this.observing ? this.byPeer.get(call.getPeer()) : undefined;
    if (known) return known;
    const certificate = call.getAuthContext().sslPeerCertificate;
    return certificate
      ? {
          encrypted: true,
          clientCertificateVerified: true,
          peer: peerIdentity(certificate),
          ...withValidUntil(certificate),
        }
      : { encrypted: true, clientCertificateVerified: false };
  }

  private track(socket: TLSSocket): void {
    const security = connectionSecurity(socket);
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    this.byPeer.set(key, security);
    socket.once('close', () => {
      if (this.byPeer.get(key) === security) this.byPeer.delete(key);
    });
  }
}
