import type { DispatchOutcome } from '../fulfillment';

/** How a turn ended, as counted and traced: the dispatcher's outcomes plus what the turn pipeline adds. */
export type TurnOutcome = DispatchOutcome | 'queued' | 'replayed' | 'degraded' | 'error';
