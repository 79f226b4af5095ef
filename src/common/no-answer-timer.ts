/** A first signal before the no-answer one: the answer is late, not yet missing. */
export interface LateAnswer {
  readonly afterMs: number;
  readonly onLate: () => void;
}

/**
 * Calls `onNoAnswer` when `ms` pass before the returned `stop` is called, but only once the event loop has
 * read the I/O already waiting for it. A loop held up past the time (a long GC pause, a burst of synchronous
 * work, a starved CPU) runs its timers before it polls sockets: without the extra turn, an answer that arrived
 * during the hold-up would be taken for silence and a healthy connection (or database) declared dead.
 *
 * With `late`, its `onLate` is called the same way once `late.afterMs` (less than `ms`) have passed unanswered.
 * One timer runs at a time, so an answer that comes before `late.afterMs` (nearly all) costs no more than without.
 */
export function startNoAnswerTimer(ms: number, onNoAnswer: () => void, late?: LateAnswer): () => void {
  let stopped = false;
  let afterPendingIo: NodeJS.Immediate | undefined;
  // Timers run before the poll phase; an immediate runs after it, when waiting replies have been read.
  const afterWaitingIo = (then: () => void): void => {
    afterPendingIo = setImmediate(() => {
      afterPendingIo = undefined;
      if (!stopped) then();
    });
  };
  const expire = (): void => afterWaitingIo(onNoAnswer);
  let timer: NodeJS.Timeout;
  if (late && late.afterMs < ms) {
    timer = setTimeout(() => {
      afterWaitingIo(late.onLate);
      timer = setTimeout(expire, ms - late.afterMs);
      timer.unref();
    }, late.afterMs);
  } else {
    timer = setTimeout(expire, ms);
  }
  timer.unref();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (afterPendingIo) clearImmediate(afterPendingIo);
  };
}
