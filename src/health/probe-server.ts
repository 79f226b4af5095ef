import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createServer, type RequestListener, type Server } from 'node:http';
import { ListenError } from '../common/errors/listen-error';
import { checkTimeoutsEvery } from '../common/http/client-errors';
import { AppConfig } from '../config';

const PROBE_PATHS: ReadonlySet<string> = new Set(['/health/live', '/health/ready']);

/**
 * PROBE_PORT: a plain-HTTP listener for the kubelet, which cannot present a client certificate, so that the
 * service's own port can refuse every connection without one (TLS_CLIENT_AUTH=require). It answers
 * /health/live and /health/ready through the same application (same controller, same readiness) and nothing
 * else: every other path is a JSON 404, whatever the method.
 */
@Injectable()
export class ProbeServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Probes');
  private server?: Server;

  constructor(
    private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** The bound port (PROBE_PORT=0 picks a free one), or undefined without a probe listener. */
  get port(): number | undefined {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.http.probePort;
    if (port === undefined) return;
    const { host, headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = this.config.http;
    const app = this.adapterHost.httpAdapter.getInstance<RequestListener>();
    const server = createServer((request, response) => {
      if (PROBE_PATHS.has((request.url ?? '').split('?')[0])) return void app(request, response);
      const body = JSON.stringify({
        statusCode: 404,
        error: 'NOT_FOUND',
        message: 'This port serves /health/live and /health/ready only.',
      });
      response.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8', Connection: 'close' }).end(body);
    });
    server.headersTimeout = headersTimeoutMs;
    server.requestTimeout = requestTimeoutMs;
    server.keepAliveTimeout = keepAliveTimeoutMs;
    checkTimeoutsEvery(server, { headersTimeoutMs, requestTimeoutMs });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new ListenError('probe server', host, port, 'PROBE_PORT', error)));
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    this.logger.log(`Probes on http://${host}:${this.port}/health/live and /health/ready`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
