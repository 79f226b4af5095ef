/**
 * `next(value)` at once when `value` is already there, after it settles when it is a promise: a step that is
 * usually synchronous (an in-memory count) costs no promise, and the rare asynchronous one (Redis) is awaited.
 * A throw of `next` is thrown at once in the first case and rejects in the second.
 */
export function thenOrNow<T, R>(value: T | Promise<T>, next: (value: T) => R): R | Promise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}
