import { AppError } from '../common/errors/app-error';
import type { DispatchOutcome } from '../fulfillment';

/**
 * How a turn ended, as counted and traced: the dispatcher's outcomes plus what the turn pipeline adds
 * (`busy`: the turn lost to other work, e.g. no database connection within its deadline or a lock held too long;
 * `degraded`: PostgreSQL unreachable or unable to write; `conflict`: a delivery of a turn still running, or a turn
 * id reused for another request, refused with 409 / 422 — the sender's doing, not a failure of ours). See
 * `Unavailable` in database/connection-errors.ts.
 */
export type TurnOutcome = DispatchOutcome | 'queued' | 'replayed' | 'degraded' | 'busy' | 'conflict' | 'error';

/** The refusals of a repeated turn id (still running; reused for another body): the sender's, not an error of ours. */
export function isIdempotencyConflict(error: unknown): boolean {
  return (
    error instanceof AppError && (error.code === 'IDEMPOTENCY_IN_PROGRESS' || error.code === 'IDEMPOTENCY_KEY_REUSED')
  );
}
