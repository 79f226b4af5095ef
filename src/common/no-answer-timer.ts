/**
 * Calls `onNoAnswer` when `ms` pass before the returned `stop` is called, but only once the event loop has
 * read the I/O already waiting for it. A loop held up past the time (a long GC pause, a burst of synchronous
 * work, a starved CPU) runs its timers before it polls sockets: without the extra turn, an answer that arrived
 * during the hold-up would be taken for silence and a healthy connection (or database) declared dead.
 */
export function startNoAnswerTimer(ms: number, onNoAnswer: () => void): () => void {
  let stopped = false;
  let afterPendingIo: NodeJS.Immediate | undefined;
  const timer = setTimeout(() => {
    // Timers run before the poll phase; an immediate runs after it, when waiting replies have been read.
    afterPendingIo = setImmediate(() => {
      if (!stopped) onNoAnswer();
    });
  }, ms);
  timer.unref();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (afterPendingIo) clearImmediate(afterPendingIo);
  };
}
