import type { INestApplication, LoggerService } from '@nestjs/common';
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { JobQueue } from '../async/job-queue';
import type { ShutdownConfig } from '../config';
import { GrpcEndpoint } from '../grpc/grpc-endpoint';
import { Readiness } from '../health/readiness';

const KEEP_ALIVE_MARGIN_MS = 1000;

/**
 * The SIGTERM sequence. At once: readiness turns false, and every response from now on says
 * `Connection: close`, so a client on a keep-alive connection is told to reconnect (elsewhere) by the answer
 * to its next request instead of finding the connection gone. After `delayMs` (load balancers have stopped
 * sending) the listener stops taking new connections; connections still open are never cut: a busy one
 * ends after its response, an idle one when its keep-alive timeout runs out (the timeout announced in
 * every response, so clients stop reusing it first). In parallel the job queue lets running jobs finish (or
 * fails them back to the queue); then the application closes (audit flush, pools). The gRPC port stops with
 * the HTTP listener: no new calls, running ones finish. Resolves when everything is closed.
 */
export async function shutDownGracefully(
  app: INestApplication,
  config: ShutdownConfig,
  logger: LoggerService,
): Promise<void> {
  const readiness = app.get(Readiness);
  readiness.startDraining();
  if (config.delayMs > 0) {
    logger.log(`Readiness is false; serving for ${config.delayMs} ms more before closing the listener`);
    await sleep(config.delayMs);
  }
  const server = app.getHttpServer() as Server;
  // http.Server#close() would also drop idle keep-alive connections at once, racing a request the client
  // may be sending on one: stop listening only, and let the connections end as described above.
  const httpClosed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
  // Node ends idle connections at their keep-alive timeout; this only covers a socket it somehow missed.
  const backstop = setTimeout(() => server.closeIdleConnections(), server.keepAliveTimeout + KEEP_ALIVE_MARGIN_MS);
  backstop.unref();
  await Promise.all([httpClosed, app.get(GrpcEndpoint).close(), app.get(JobQueue).stop()]);
  clearTimeout(backstop);
  await app.close();
}
