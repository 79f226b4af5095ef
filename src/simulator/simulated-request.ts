import { createHash } from 'node:crypto';
import type { RememberedState, SimulatedTurn } from '../platforms/platform-simulation';
import { SIMULATIONS } from '../platforms/simulations';

export type { SimulatedTurn as Turn } from '../platforms/platform-simulation';

/** A request as the platform itself would send it for this turn. */
export function buildRequest(turn: SimulatedTurn): Record<string, unknown> {
  return SIMULATIONS[turn.platform].request(turn);
}

/** What the platform would remember from our answer for the next turn. */
export function rememberFromResponse(
  platform: SimulatedTurn['platform'],
  body: Record<string, unknown>,
  previous: Readonly<Record<string, unknown>>,
  previousContexts: readonly unknown[] = [],
): RememberedState {
  return SIMULATIONS[platform].remember(body, previous, previousContexts);
}

/** A stable session id derived from a session name, so `--session demo` means the same session every time. */
export function sessionIdFor(name: string): string {
  return `sim-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}
