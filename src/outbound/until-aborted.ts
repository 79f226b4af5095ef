/** What `fetch` rejects with: the signal's reason (an AbortError DOMException unless the aborter chose one). */
export function abortReason(signal: AbortSignal): Error {
  // Passed through unchecked like fetch does: an instanceof test fails for errors from another realm.
  return (signal.reason ?? new DOMException('This operation was aborted', 'AbortError')) as Error;
}

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
