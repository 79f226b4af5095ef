import type { Logger } from 'pino';

/**
 * Node's process warnings (a deprecated API used, an event listener leak, an experimental feature) as JSON lines
 * at level warn, instead of Node's own text on stderr, which a pipeline reading JSON lines takes apart line by
 * line. The stack is kept: for a listener leak it is where the listener was added.
 */
export function logProcessWarnings(logger: Logger): void {
  // Node's own listener is what prints the text; nothing else of ours listens.
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    logger.warn(
      {
        context: 'Node',
        warning: { name: warning.name, code: warning.code, message: warning.message, stack: warning.stack },
      },
      `${warning.name}: ${warning.message}`,
    );
  });
}
