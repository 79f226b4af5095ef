import type { Deadline } from '@grpc/grpc-js';
import { AppError } from '../common/errors/app-error';

/** Time kept back from the caller's deadline for encoding the answer and the way back. */
export const DEADLINE_MARGIN_MS = 100;

/**
 * The handler budget of a call: the platform's configured budget, or less when the caller's gRPC deadline
 * (minus a margin) comes sooner. A deadline that leaves no time at all is refused before anything runs.
 */
export function callBudgetMs(deadline: Deadline, configuredMs: number, now: number = Date.now()): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return configuredMs;
  const left = Math.floor(at - now - DEADLINE_MARGIN_MS);
  if (left <= 0) {
    throw new AppError('DEADLINE_EXCEEDED', 'The call deadline leaves no time to fulfil the turn.');
  }
  return Math.min(configuredMs, left);
}
