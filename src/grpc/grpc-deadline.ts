import type { Deadline } from '@grpc/grpc-js';
import { AppError } from '../common/errors/app-error';

/**
 * Time kept back from the caller's deadline for encoding the answer, the way back and a busy event loop: a tenth of
 * the time left, as the platforms' budgets keep back from their timeouts, between 100 and 500 ms. (A fixed 100 ms
 * left a 1.5 s call 74 ms of slack on an idle machine, and a loaded one missed it.)
 */
export function deadlineMarginMs(leftMs: number): number {
  return Math.min(MAX_MARGIN_MS, Math.max(MIN_MARGIN_MS, Math.round(leftMs / 10)));
}

const MIN_MARGIN_MS = 100;
const MAX_MARGIN_MS = 500;

/**
 * The handler budget of a call, counted from its arrival (`arrivedAt`, wall clock): the platform's configured
 * budget, or less when the caller's gRPC deadline (minus a margin) comes sooner. A deadline that leaves no time at
 * all, now, is refused before anything runs: a call held up between its arrival and this check (a busy event loop)
 * may have had its time already, though it had some when it arrived.
 */
export function callBudgetMs(
  deadline: Deadline,
  configuredMs: number,
  arrivedAt: number = Date.now(),
  now: number = Date.now(),
): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return configuredMs;
  const leftNow = at - now - deadlineMarginMs(at - now);
  const left = Math.floor(at - arrivedAt - deadlineMarginMs(at - arrivedAt));
  if (leftNow <= 0 || left <= 0) {
    throw new AppError('DEADLINE_EXCEEDED', 'The call deadline leaves no time to fulfil the turn.');
  }
  return Math.min(configuredMs, left);
}

/**
 * How long authenticating a call may take, counted from its arrival (`elapsedMs` ago): the platform's budget, or
 * what is left of the caller's deadline when that comes sooner. A token introspection or a JWKS fetch has no reason
 * to go on once the client has had its DEADLINE_EXCEEDED.
 */
export function authBudgetMs(deadline: Deadline, configuredMs: number, elapsedMs: number, now = Date.now()): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return configuredMs;
  return Math.max(0, Math.min(configuredMs, Math.floor(at - now + elapsedMs)));
}

/** A `grpc-timeout`: digits and a unit. The gRPC spec allows 8 digits; grpc-js reads any 1-8 digits and a unit within. */
const TIMEOUT = /^\s*(\d+)\s*([HMSmun])\s*$/;
const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000001 };
/** The units up to a second, finest first: each a thousand of the one before. */
const UP_TO_SECONDS = ['n', 'u', 'm', 'S'];
const MAX_DIGITS_VALUE = 99_999_999;
/** The longest timeout grpc-js's timer holds (a 32-bit millisecond count); any turn's budget is far shorter. */
export const LONGEST_TIMEOUT = '99999999m';
/** Not digits and a unit, so grpc-js finds nothing in it to read and refuses the call (INTERNAL, "Invalid …"). */
export const MALFORMED_TIMEOUT = 'malformed';

/**
 * A `grpc-timeout` that grpc-js reads as the client meant it. grpc-js reads the first of repeated values, the first
 * 1-8 digits and unit it finds anywhere in one (nine digits, `300000000S`, were read as `00000000S`: an immediate
 * DEADLINE_EXCEEDED), and turns them into milliseconds with a 32-bit integer, so a timeout of 2^31 ms (about 25
 * days) or more wrapped round into the past (what a client's 30-day deadline sends, `2592000S`). So repeated values
 * become the shortest (no deadline later than one the client sent); 2^31 ms or more becomes LONGEST_TIMEOUT (about
 * 28 hours, the same as none for a turn); more than 8 digits are written in a coarser unit; and a value that is not
 * digits and a unit becomes MALFORMED_TIMEOUT.
 */
export function holdableTimeout(value: string | readonly string[]): string {
  const timeouts = (typeof value === 'string' ? [value] : value).map((text) => TIMEOUT.exec(text));
  let shortest: RegExpExecArray | undefined;
  for (const timeout of timeouts) {
    if (timeout === null) return MALFORMED_TIMEOUT;
    if (shortest === undefined || millisecondsOf(timeout) < millisecondsOf(shortest)) shortest = timeout;
  }
  if (shortest === undefined) return MALFORMED_TIMEOUT;
  return millisecondsOf(shortest) >= 2 ** 31 ? LONGEST_TIMEOUT : inEightDigits(Number(shortest[1]), shortest[2]);
}

function millisecondsOf([, digits, unit]: RegExpExecArray): number {
  return Number(digits) * UNIT_MS[unit];
}

/**
 * The same timeout in at most 8 digits, rounded up to a coarser unit when it has more. Under 2^31 ms only a count of
 * milli-, micro- or nanoseconds can have more (2^31 ms is 2,147,484 seconds).
 */
function inEightDigits(amount: number, unit: string): string {
  let index = UP_TO_SECONDS.indexOf(unit);
  while (amount > MAX_DIGITS_VALUE) {
    amount = Math.ceil(amount / 1000);
    unit = UP_TO_SECONDS[++index];
  }
  return `${amount}${unit}`;
}
