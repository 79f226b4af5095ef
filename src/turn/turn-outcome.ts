import type { DispatchOutcome } from '../fulfillment';

/**
 * How a turn ended, as counted and traced: the dispatcher's outcomes plus what the turn pipeline adds
 * (`busy`: the turn lost to other work, e.g. no database connection within its deadline or a lock held too long;
 * `degraded`: PostgreSQL unreachable or unable to write). See `Unavailable` in database/connection-errors.ts.
 */
export type TurnOutcome = DispatchOutcome | 'queued' | 'replayed' | 'degraded' | 'busy' | 'error';
