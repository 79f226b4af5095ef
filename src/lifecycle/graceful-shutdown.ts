import type { INestApplication, LoggerService } from '@nestjs/common';
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FulfillmentResults } from '../async/fulfillment-results';
import { JobQueue } from '../async/job-queue';
import type { ShutdownConfig } from '../config';
import { GrpcEndpoint } from '../grpc/grpc-endpoint';
import { Readiness } from '../health/readiness';
import { TurnPipeline } from '../turn/turn-pipeline';

const KEEP_ALIVE_MARGIN_MS = 1000;
/**
 * Left of the grace period for the application to close (audit flush, pools) after the listeners and late work are
 * waited for: 2 s, or half of what the delay leaves when that is less (the configuration guarantees 2 s for both).
 */
const CLOSE_MARGIN_MS = 2000;

export function closeMarginMs(config: ShutdownConfig): number {
  return Math.min(CLOSE_MARGIN_MS, Math.max(0, config.graceMs - config.delayMs) / 2);
}

/**
 * Left at the very end of the grace period, after the application's close, for what follows it (an embedded
 * database's stop, the last log lines) before the forced exit: 500 ms, or a quarter of the close margin.
 */
const EXIT_MARGIN_MS = 500;

export function exitMarginMs(config: ShutdownConfig): number {
  return Math.min(EXIT_MARGIN_MS, closeMarginMs(config) / 4);
}

/**
 * Closes the application (the modules' destroy and shutdown hooks: outbound requests aborted, final flushes, pools
 * closed) within `withinMs`; false when it was still closing then. Each hook bounds its own wait, but one that did
 * not (undici's Agent#close waiting for a request, the turn log's flush for a database that did not answer) held
 * the whole stop until the process was forced out, exit 1, with everything after it skipped.
 */
export async function closeWithin(app: INestApplication, withinMs: number): Promise<boolean> {
  const closing = app.close().then(() => true);
  // Settling after the time is up (the process is exiting by then), a failure is nobody's to report.
  void closing.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, withinMs))));
  try {
    return await Promise.race([closing, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The SIGTERM sequence. At once: readiness turns false, and every response from now on says
 * `Connection: close`, so a client on a keep-alive connection is told to reconnect (elsewhere) by the answer
 * to its next request instead of finding the connection gone. After `delayMs` (load balancers have stopped
 * sending) the listener stops taking new connections; connections still open are never cut: a busy one
 * ends after its response, an idle one when its keep-alive timeout runs out (the timeout announced in
 * every response, so clients stop reusing it first). In parallel the job queue lets running jobs finish (or
 * fails them back to the queue) and takes no more, while still queueing what turns being answered send. Then turns
 * still running after their callers went away finish and store their replies, and late work (turns answered "still
 * working") stores its results, within the grace period; the queue closes, then the
 * application (outbound requests still running aborted, audit and turn log flush, pools), in the close margin and
 * never past the grace period (`closeWithin`). The gRPC port stops with the HTTP listener: no new calls, running
 * ones finish until the close margin begins (SHUTDOWN_GRACE_MS minus `closeMarginMs`), and are cut then; so are HTTP
 * connections still open then (idle ones whose keep-alive timeout is longer, requests whose deadline is).
 * Resolves when everything is closed, or when the grace period (less `exitMarginMs`) is over.
 */
export async function shutDownGracefully(
  app: INestApplication,
  config: ShutdownConfig,
  logger: LoggerService,
): Promise<void> {
  const startedAt = Date.now();
  const closeBy = startedAt + config.graceMs - closeMarginMs(config);
  const exitBy = startedAt + config.graceMs - exitMarginMs(config);
  const readiness = app.get(Readiness);
  readiness.startDraining();
  if (config.delayMs > 0) {
    logger.log(`Readiness is false; serving for ${config.delayMs} ms more before closing the listener`);
    await sleep(config.delayMs);
  }
  const server = app.getHttpServer() as Server;
  // http.Server#close() would also drop idle keep-alive connections at once, racing a request the client
  // may be sending on one: stop listening only, and let the connections end as described above.
  let httpOpen = true;
  const httpClosed = new Promise<void>((resolve) =>
    NetServer.prototype.close.call(server, () => {
      httpOpen = false;
      resolve();
    }),
  );
  // Node ends idle connections at their keep-alive timeout; this covers a socket it somehow missed, and a timeout
  // longer than the grace period (HTTP_KEEP_ALIVE_TIMEOUT_MS of 65 s behind a cloud load balancer): an idle
  // connection held the exit past SHUTDOWN_GRACE_MS, and the process was forced out (exit 1, audit not flushed).
  const idleLeftMs = Math.max(0, closeBy - Date.now());
  const backstop = setTimeout(
    () => server.closeIdleConnections(),
    Math.min(server.keepAliveTimeout + KEEP_ALIVE_MARGIN_MS, idleLeftMs),
  );
  backstop.unref();
  // A request still running at the end of the grace period (a deadline longer than the grace) is cut, as gRPC
  // calls are, so that the application still closes in time.
  const cutoff = setTimeout(() => {
    if (!httpOpen) return;
    logger.warn('HTTP connections still open at the end of the grace period were cut');
    server.closeAllConnections();
  }, idleLeftMs);
  cutoff.unref();
  const jobs = app.get(JobQueue);
  // The queue takes no more jobs, but stays open: a turn still being answered may queue its job.
  const grpcClosed = app
    .get(GrpcEndpoint)
    .close(closeBy - Date.now())
    .then((finished) => {
      if (!finished) logger.warn('gRPC calls still open at the end of the grace period were cut');
    });
  await Promise.all([httpClosed, grpcClosed, jobs.stopWorkers()]);
  clearTimeout(backstop);
  clearTimeout(cutoff);
  // Turns whose callers have gone (a platform that gave up, a client that disconnected) are still running: they
  // finish and store their replies, or a retry would find the turn claimed and wait for the claim to lapse.
  const running = await app.get(TurnPipeline).turnsFinished(closeBy - Date.now());
  if (running > 0) logger.warn(`Closing with ${running} turn(s) still running: the grace period is over`);
  // Late work the turns left (answered "still working") stores its result and queues its callback, while it can.
  const unstored = await app.get(FulfillmentResults).lateWorkStored(closeBy - Date.now());
  if (unstored > 0) logger.warn(`Closing with ${unstored} late result(s) not stored: the grace period is over`);
  await jobs.stop(closeBy - Date.now());
  if (!(await closeWithin(app, exitBy - Date.now()))) {
    logger.warn('The application was still closing at the end of the grace period; exiting without waiting for it');
  }
}
