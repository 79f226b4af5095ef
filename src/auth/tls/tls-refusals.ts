import { Injectable } from '@nestjs/common';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { AuditLog } from '../../audit/audit-log';
import { certificateFailureReason } from './peer-identity';

/** OpenSSL's error when `requestCert` + `rejectUnauthorized` meet a client that sent no certificate. */
const NO_CLIENT_CERTIFICATE = 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE';

/**
 * A TLS connection refused before any request (a failed handshake, a missing or bad client certificate), on the
 * HTTPS or the gRPC port: audited like every other authentication failure, with the reason code.
 */
@Injectable()
export class TlsRefusals {
  constructor(private readonly audit: AuditLog) {}

  /**
   * A connection that ended before its handshake completed, or that node:tls closed because its client
   * certificate did not verify (TLS_CLIENT_AUTH=require: `authorizationError` then names why).
   */
  handshakeFailed(
    socket: Pick<TLSSocket, 'remoteAddress' | 'authorizationError'>,
    error: NodeJS.ErrnoException,
    port: 'https' | 'grpc',
  ): void {
    const code = error.code ?? error.message;
    if (code === NO_CLIENT_CERTIFICATE) return this.record(socket, 'certificate-required', code, port);
    const verifyError = socket.authorizationError ? String(socket.authorizationError) : undefined;
    if (verifyError) return this.record(socket, certificateFailureReason(verifyError), verifyError, port);
    this.record(socket, 'tls-handshake-failed', code, port);
  }

  record(
    socket: Pick<Socket, 'remoteAddress'>,
    reason: string,
    detail: string | undefined,
    port: 'https' | 'grpc',
  ): void {
    this.audit.record({
      event: 'authn_login_fail',
      outcome: 'failure',
      method: 'mtls',
      reason,
      // The gRPC port's rows are marked; HTTPS rows keep the bare detail.
      detail: port === 'grpc' ? (detail ? `grpc: ${detail}` : 'grpc') : detail,
      remoteAddress: socket.remoteAddress,
    });
  }
}
