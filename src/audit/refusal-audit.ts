import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { type Refusal, refusals } from '../common/http/http-error.filter';
import { normaliseAddress } from '../common/net/client-address';
import { AuditLog } from './audit-log';

/** What Node answers a request it cannot parse (its own default), as JSON like every other refusal. */
const PARSE_REFUSALS: Readonly<Record<string, { status: number; text: string; reason: string; message: string }>> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    text: 'Request Header Fields Too Large',
    reason: 'headers_too_large',
    message: 'The request headers are too large.',
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    status: 413,
    text: 'Payload Too Large',
    reason: 'chunk_extensions_too_large',
    message: 'The request has too many chunk extensions.',
  },
};

function rawJsonResponse(status: number, text: string, message: string): string {
  const body = JSON.stringify({ statusCode: status, error: 'HTTP_ERROR', message });
  return (
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/**
 * Audits refusals decided outside the authenticator and the rate limits: what the error filters publish on
 * `refusals` (400, 405, 413, 415, idempotency conflicts; the SSRF guard's blocks), and requests Node's HTTP
 * parser refuses before any application code sees them (431 header too large, 400 malformed), from the server's
 * `clientError` event. Recording only queues a row: the response is never held up or changed by it.
 */
@Injectable()
export class RefusalAudit implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Audit');
  private server?: Server;
  private app?: unknown;
  private readonly onRefusal = (message: unknown): void => this.receive(message as Refusal);
  private readonly onClientError = (error: NodeJS.ErrnoException, socket: Socket): void =>
    this.clientError(error, socket);

  constructor(
    private readonly audit: AuditLog,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {}

  onApplicationBootstrap(): void {
    const adapter = this.adapterHost?.httpAdapter;
    this.app = adapter?.getInstance?.();
    this.server = adapter?.getHttpServer?.() as Server | undefined;
    this.server?.on('clientError', this.onClientError);
    refusals.subscribe(this.onRefusal);
  }

  onApplicationShutdown(): void {
    refusals.unsubscribe(this.onRefusal);
    this.server?.off('clientError', this.onClientError);
  }

  private receive(refusal: Refusal): void {
    // Another application in this process answered it (tests boot several); events outside HTTP carry none.
    if (refusal.app !== undefined && refusal.app !== this.app) return;
    try {
      this.audit.record({
        event: refusal.event,
        outcome: 'failure',
        reason: refusal.reason,
        route: refusal.route,
        callerId: refusal.callerId,
        remoteAddress: refusal.remoteAddress,
        requestId: refusal.requestId,
        detail: refusal.detail,
      });
    } catch (error: unknown) {
      // A subscriber's exception would be rethrown by diagnostics_channel as an uncaught one: never let it.
      this.logger.error(`Could not audit a refusal: ${String(error)}`);
    }
  }

  /**
   * Node's own handling (lib/_http_server.js) once a listener exists is ours to do: answer when nothing was
   * written yet, then destroy the socket. A reset or timeout is not a refusal of what the client sent.
   */
  private clientError(error: NodeJS.ErrnoException, socket: Socket): void {
    const refusal = error.code ? PARSE_REFUSALS[error.code] : undefined;
    const parseError = error.code?.startsWith('HPE_') === true;
    // Read before destroy(), which clears it. Node parsed no headers, so this is the peer (a proxy, behind one).
    const peer = socket.remoteAddress;
    // Node's condition: no response in flight on this connection, or none of it written yet.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        socket.write('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
      } else if (refusal) {
        socket.write(rawJsonResponse(refusal.status, refusal.text, refusal.message));
      } else if (error.code !== 'ECONNRESET') {
        socket.write(rawJsonResponse(400, 'Bad Request', 'The request is not valid HTTP.'));
      }
    }
    socket.destroy(error);
    if (!parseError) return;
    try {
      this.audit.record({
        event: 'input_validation_fail',
        outcome: 'failure',
        reason: refusal?.reason ?? 'malformed_http',
        remoteAddress: normaliseAddress(peer) ?? peer,
        detail: error.code,
      });
    } catch (auditError: unknown) {
      this.logger.error(`Could not audit a refused connection: ${String(auditError)}`);
    }
  }
}
