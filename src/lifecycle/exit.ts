import type { Logger } from 'pino';
import { flushLogs } from '../observability/logging';

/**
 * The longest an exit waits for its last log lines. A reader of the output that stopped reading would hold it
 * forever (logging.ts); the lines are given up instead, and the process still ends.
 */
const EXIT_LOG_FLUSH_MS = 1000;

let exitCode: number | undefined;

/**
 * Ends the process once what is logged is written (or given up after EXIT_LOG_FLUSH_MS). Asked again meanwhile
 * (an error during a clean exit's last writes), the exit under way ends with the highest code asked for.
 */
export function exitAfterLogs(code: number): void {
  const underWay = exitCode !== undefined;
  exitCode = Math.max(exitCode ?? 0, code);
  if (underWay) return;
  void flushLogs(EXIT_LOG_FLUSH_MS).finally(() => process.exit(exitCode));
}

/**
 * An error nothing caught (a throw in a stray callback, a rejected promise nobody awaited) leaves the process in a
 * state nobody planned, so it ends, exit code 1, as Node's default would; but the error is a JSON line (level
 * fatal, with its stack and where it came from) among the others instead of bare text on stderr, and the exit
 * writes out the lines before it, bounded like every other exit. An error thrown while handling a request does not
 * get here: Nest and the gRPC transport answer it.
 */
export function exitOnUncaughtErrors(logger: Logger): void {
  let exiting = false;
  process.on('uncaughtException', (error: unknown, origin: NodeJS.UncaughtExceptionOrigin) => {
    // A second one while the first's lines are written changes nothing.
    if (exiting) return;
    exiting = true;
    const what = origin === 'unhandledRejection' ? 'Unhandled promise rejection' : 'Uncaught exception';
    const message = error instanceof Error ? error.message : String(error);
    logger.fatal({ context: 'Main', err: error, origin }, `${what}: ${message}; exiting`);
    exitAfterLogs(1);
  });
}
