import { Injectable } from '@nestjs/common';
import type { Socket } from 'node:net';
import { AuditLog } from '../../audit/audit-log';

/**
 * A TLS connection refused before any request (a failed handshake, a missing or bad client certificate), on the
 * HTTPS or the gRPC port: audited like every other authentication failure, with the reason code.
 */
@Injectable()
export class TlsRefusals {
  constructor(private readonly audit: AuditLog) {}

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
