import { startNoAnswerTimer } from './no-answer-timer';

/**
 * Whether `work` succeeds within `timeoutMs`: false when it fails or is not done by then (it is not cancelled). An
 * answer that arrived while the event loop was held up past the time still counts (startNoAnswerTimer).
 */
export function answeredWithin(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const stop = startNoAnswerTimer(timeoutMs, () => resolve(false));
    work
      .then(
        () => resolve(true),
        () => resolve(false),
      )
      .finally(stop);
  });
}
