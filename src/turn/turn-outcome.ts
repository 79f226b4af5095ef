import type { DispatchOutcome } from '../fulfillment';

/**
 * How a turn ended, as counted and traced: the dispatcher's outcomes plus what the turn pipeline adds
 * (`busy`: no database connection within the turn's deadline; `degraded`: PostgreSQL unreachable).
 */
export type TurnOutcome = DispatchOutcome | 'queued' | 'replayed' | 'degraded' | 'busy' | 'error';
