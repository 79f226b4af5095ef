import type { INestApplication, LoggerService } from '@nestjs/common';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { JobQueue } from '../async/job-queue';
import type { ShutdownConfig } from '../config';
import { GrpcEndpoint } from '../grpc/grpc-endpoint';
import { Readiness } from '../health/readiness';

/**
 * The SIGTERM sequence: readiness turns false at once; after `delayMs` (load balancers have stopped
 * sending) the listener closes, idle keep-alive connections are closed and busy ones end after their
 * response; in parallel the job queue lets running jobs finish (or fails them back to the queue); then the
 * application closes (audit flush, pools). The gRPC port (when served) stops with the HTTP listener: no new
 * calls, running ones finish. Resolves when everything is closed.
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
  readiness.closeConnections();
  const server = app.getHttpServer() as Server;
  const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await Promise.all([httpClosed, app.get(GrpcEndpoint).close(), app.get(JobQueue).stop()]);
  await app.close();
}
