import { AsyncLocalStorage } from 'node:async_hooks';
import type { Deadline } from './deadline';

/**
 * What shared resources need to know about the work that asks for them, without it being passed through
 * every call: whose work it is (`lane`: the intent of a turn, so one slow intent cannot take every database
 * connection) and by when it must be answered (a connection is waited for only while the deadline allows).
 */
export interface WorkScope {
  readonly lane: string;
  readonly deadline?: Deadline;
}

/** Work outside any turn (jobs, the audit writer, retention, late writes, start-up) shares this lane. */
export const BACKGROUND_LANE = 'background';

const scopes = new AsyncLocalStorage<WorkScope>();

/** Runs `work` (and everything it starts) in `scope`. */
export function runInWorkScope<T>(scope: WorkScope, work: () => T): T {
  return scopes.run(scope, work);
}

/**
 * Runs `work` as background work (no lane, no deadline), e.g. writes that finish after the reply was sent:
 * the turn's deadline, already spent, must not cut them short.
 */
export function runInBackground<T>(work: () => T): T {
  return scopes.exit(work);
}

/** The scope of the running work; undefined for background work (jobs, timers, start-up). */
export function currentWorkScope(): WorkScope | undefined {
  return scopes.getStore();
}
