import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext, type TLSSocket } from 'node:tls';
import { AuditLog } from '../../audit/audit-log';
import { Metrics } from '../../observability/metrics';
import { ServedCertificate } from '../../observability/served-certificate';
import { TlsRefusals } from './tls-refusals';
import { AppConfig, ConfigError } from '../../config';
import {
  describeExpiredCrl,
  describeNotYetValidCrl,
  expiryRefusal,
  notYetValidCrls,
  readTlsFiles,
  readTlsMaterial,
  TlsMaterial,
  tlsMaterial,
} from './tls-options';

/** Told about every change TlsReloader applied: the new files (already checked) and whether trust changed. */
export type TlsReloadListener = (material: TlsMaterial, trustChanged: boolean) => void;

/** How long before the CRL in force expires a warning is logged. */
const CRL_WARNING_MS = 24 * 60 * 60 * 1000;
/** setTimeout's longest delay; a later moment is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface SocketState {
  generation: number;
  inFlight: number;
}

/**
 * Reloads the server certificate, CA bundle and CRL when their files change (cert-manager rotates them),
 * without a restart. When the trust store changes, session tickets are rotated and connections made under
 * the old trust store are closed (idle ones at once, busy ones after their response), so a revoked client
 * certificate cannot go on working through session resumption or a kept-alive connection.
 */
@Injectable()
export class TlsReloader implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Tls');
  private readonly sockets = new Map<TLSSocket, SocketState>();
  private server?: HttpsServer;
  private material?: TlsMaterial;
  private generation = 0;
  /** Fingerprint of files already refused, so a broken file is reported once, not at every poll. */
  private rejected?: string;
  /** Fingerprint of files held back until a CRL of theirs begins (its thisUpdate), so it is said once. */
  private heldBack?: string;
  private timer?: NodeJS.Timeout;
  private crlTimer?: NodeJS.Timeout;
  private readonly listeners = new Set<TlsReloadListener>();

  constructor(
    private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly audit: AuditLog,
    private readonly refusals: TlsRefusals,
    private readonly served: ServedCertificate,
    @Optional() metrics?: Metrics,
  ) {
    if (config.tls?.crlFile) {
      metrics?.gauge(
        'tls_crl_next_update_timestamp_seconds',
        'When the first CRL in force (TLS_CRL_FILE) expires, its nextUpdate in Unix seconds: from then on every ' +
          'client certificate of its CA is refused until a fresh CRL is applied',
        (observe) => {
          const next = this.material?.crlNextUpdate;
          if (next !== undefined) observe(next / 1000);
        },
      );
    }
  }

  onApplicationBootstrap(): void {
    const tls = this.config.tls;
    if (!tls) return;
    this.server = this.adapterHost.httpAdapter.getHttpServer() as HttpsServer;
    // A CRL past its nextUpdate is applied here, not refused: there is nothing better to apply, and a refusal would
    // keep every restarted replica down for every caller, not only for client certificates of that CA. watchCrl
    // logs it as an error at once.
    this.material = readTlsMaterial(tls);
    // The server was built from the files as they were a moment ago: it takes them as they are now, the ones
    // the reloads compare with (before, a CRL or certificate changed while the service started was never applied).
    // Nothing is connected yet.
    this.server.setSecureContext(this.material.options);
    this.serve(this.material);
    this.watchCrl(this.material);
    // At start-up there is nothing else to apply: a CRL that has not begun refuses its CA's certificates until then.
    for (const crl of notYetValidCrls(this.material)) {
      this.logger.error(
        `${describeNotYetValidCrl(crl)}: every client certificate of its CA is refused (CRL_NOT_YET_VALID) until ` +
          'then (the CA’s clock or this host’s is off); callers without a client certificate are served',
      );
    }
    this.server.on('secureConnection', (socket: TLSSocket) => this.track(socket));
    this.server.prependListener('request', (request: IncomingMessage, response: ServerResponse) =>
      this.onRequest(request, response),
    );
    this.server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) =>
      this.refusals.handshakeFailed(socket, error, 'https'),
    );
    this.timer = setInterval(() => this.reload(), tls.reloadIntervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    clearTimeout(this.crlTimer);
  }

  /** Other TLS listeners (the gRPC port) follow the same files through this, checked and audited once here. */
  onReload(listener: TlsReloadListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Re-reads the files and applies them when they changed; returns whether anything was applied. Files that
   * are not usable (a key that does not match its certificate, a corrupt, truncated or empty CA bundle or CRL, a
   * CRL past its nextUpdate while the one in force for its CA is still valid) are refused and audited once; the last
   * good set stays in force. An expired CRL is applied when the one in force for its CA has expired too (see
   * expiryRefusal). Files with a CRL that has not begun are held back until it does (holdBackEarlyCrl).
   */
  reload(): boolean {
    const tls = this.config.tls;
    if (!tls || !this.server || !this.material) return false;
    let next: TlsMaterial;
    let fingerprint: string | undefined;
    try {
      const files = readTlsFiles(tls);
      if (files.ownDigest === this.material.ownDigest && files.trustDigest === this.material.trustDigest) return false;
      fingerprint = `${files.ownDigest}:${files.trustDigest}`;
      if (fingerprint === this.rejected) return false;
      next = tlsMaterial(tls, files); // throws on a CA bundle or CRL that is empty, truncated or corrupt
      const expired = expiryRefusal(this.material, next);
      if (expired) throw new ConfigError([expired]);
      createSecureContext(next.options); // throws on a key that does not match its certificate, a bad PEM, …
      if (this.holdBackEarlyCrl(next, fingerprint)) return false;
    } catch (error: unknown) {
      if (fingerprint === undefined) return false; // a file mid-rewrite or missing: try again at the next poll
      this.rejected = fingerprint;
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.error(`Kept the current TLS certificates: the new files are not usable: ${reason}`);
      this.audit.record({ event: 'sys_config_reload_fail', outcome: 'failure', reason: 'tls', detail: reason });
      return false;
    }
    const trustChanged = next.trustDigest !== this.material.trustDigest;
    this.heldBack = undefined;
    this.server.setSecureContext(next.options);
    this.server.setTicketKeys(randomBytes(48));
    this.material = next;
    this.serve(next);
    this.watchCrl(next);
    if (trustChanged) this.retireConnections();
    for (const listener of this.listeners) {
      try {
        listener(next, trustChanged);
      } catch (error: unknown) {
        this.logger.error(`A TLS reload listener failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    this.logger.log(`Reloaded TLS ${trustChanged ? 'certificates and trust store' : 'certificates'}`);
    this.audit.record({
      event: 'sys_config_reload',
      outcome: 'success',
      reason: 'tls',
      detail: trustChanged ? 'trust store changed' : 'server certificate changed',
    });
    return true;
  }

  /**
   * Whether the new files wait for a CRL of theirs to begin: before its thisUpdate node:tls would refuse every client
   * certificate of its CA (CRL_NOT_YET_VALID), which a CA whose clock runs ahead of this host's causes at every CRL it
   * publishes. The files in force stay until then (each poll looks again), and the wait is logged once.
   */
  private holdBackEarlyCrl(next: TlsMaterial, fingerprint: string): boolean {
    const early = notYetValidCrls(next);
    if (early.length === 0) return false;
    if (this.heldBack !== fingerprint) {
      this.heldBack = fingerprint;
      this.logger.warn(
        `Kept the current TLS certificates until the new CRL begins: ${early.map(describeNotYetValidCrl).join('; ')} ` +
          '(the CA’s clock or this host’s is off); applied then',
      );
    }
    return true;
  }

  /**
   * Says so in the log when a CRL in force is a day from expiring, and when it has expired (at start-up or a reload
   * that applies one already expired, at once): node:tls then refuses every client certificate of its CA
   * (CRL_HAS_EXPIRED, audited as `crl-expired`) while the service is otherwise healthy, until a fresh CRL is written
   * to TLS_CRL_FILE. Readiness is not failed for it: callers without a client certificate are still served, and every
   * replica holds the same CRL. `tls_crl_next_update_timestamp_seconds` shows the time in advance.
   */
  private watchCrl(material: TlsMaterial): void {
    clearTimeout(this.crlTimer);
    this.crlTimer = undefined;
    const warned = new Set<number>();
    const expired = new Set<number>();
    const look = () => {
      const now = Date.now();
      let wake: number | undefined;
      material.crls.forEach((crl, index) => {
        if (crl.nextUpdate === undefined || expired.has(index)) return;
        const left = crl.nextUpdate - now;
        if (left <= 0) {
          expired.add(index);
          // A file refused earlier for its expired CRL is looked at again: it may now be applied (expiryRefusal).
          this.rejected = undefined;
          this.logger.error(
            `The CRL in force (TLS_CRL_FILE) expired at ${new Date(crl.nextUpdate).toISOString()}: ` +
              `${describeExpiredCrl(crl)}; every client certificate of its CA is refused (CRL_HAS_EXPIRED) until a ` +
              'fresh CRL is written to TLS_CRL_FILE; callers without a client certificate are served',
          );
          return;
        }
        if (left <= CRL_WARNING_MS && !warned.has(index)) {
          warned.add(index);
          this.logger.warn(
            `The CRL in force (TLS_CRL_FILE) expires at ${new Date(crl.nextUpdate).toISOString()}, in ` +
              `${Math.ceil(left / 60_000)} min (${crl.which}, issued by ${crl.issuer}): from then on every client ` +
              'certificate of its CA is refused until a fresh CRL is written to TLS_CRL_FILE',
          );
        }
        const until = left > CRL_WARNING_MS ? left - CRL_WARNING_MS : left;
        wake = Math.min(wake ?? until, until);
      });
      if (wake === undefined) return;
      this.crlTimer = setTimeout(look, Math.min(wake, MAX_TIMER_MS));
      this.crlTimer.unref();
    };
    look();
  }

  private serve(material: TlsMaterial): void {
    const cert = material.options.cert;
    if (typeof cert === 'string' || Buffer.isBuffer(cert)) this.served.serve(cert);
  }

  private track(socket: TLSSocket): void {
    this.sockets.set(socket, { generation: this.generation, inFlight: 0 });
    socket.once('close', () => this.sockets.delete(socket));
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    const socket = request.socket as TLSSocket;
    const state = this.sockets.get(socket);
    if (!state) return;
    if (state.generation < this.generation) {
      // A request on a connection verified under the old trust store: make the client reconnect.
      socket.destroy();
      return;
    }
    state.inFlight += 1;
    response.once('close', () => {
      state.inFlight -= 1;
      if (state.generation < this.generation && state.inFlight === 0) socket.destroy();
    });
  }

  private retireConnections(): void {
    this.generation += 1;
    for (const [socket, state] of this.sockets) {
      if (state.inFlight === 0) socket.destroy();
    }
  }
}
