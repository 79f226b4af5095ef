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
 * The handler budget of a call: the platform's configured budget, or less when the caller's gRPC deadline
 * (minus a margin) comes sooner. A deadline that leaves no time at all is refused before anything runs.
 */
export function callBudgetMs(deadline: Deadline, configuredMs: number, now: number = Date.now()): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return configuredMs;
  const left = Math.floor(at - now - deadlineMarginMs(at - now));
  if (left <= 0) {
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

/** A `grpc-timeout` as grpc-js reads it: up to 8 digits and a unit. */
const TIMEOUT = /^(\d{1,8})\s*([HMSmun])$/;
const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000001 };
/** The longest timeout grpc-js's timer holds (a 32-bit millisecond count); any turn's budget is far shorter. */
export const LONGEST_TIMEOUT = '99999999m';

/**
 * A `grpc-timeout` that grpc-js can hold. It turns the header into milliseconds with a 32-bit integer, so a timeout
 * of 2^31 ms (about 25 days) or more wraps round: 30 days (what a client's 30-day deadline sends, `2592000S`) became
 * a deadline in the past and an immediate DEADLINE_EXCEEDED. Such a timeout is the same as none for a turn: it
 * becomes LONGEST_TIMEOUT (about 28 hours). A malformed one is left for grpc-js to refuse.
 */
export function holdableTimeout(value: string): string {
  const match = TIMEOUT.exec(value.trim());
  if (!match) return value;
  return Number(match[1]) * UNIT_MS[match[2]] >= 2 ** 31 ? LONGEST_TIMEOUT : value;
}
