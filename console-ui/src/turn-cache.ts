// Turns the console has listed, so the inspector can show a turn's row even when this instance cannot answer
// for it on its own (GET /api/turns/:id not there yet).
import type { TurnRow } from './types';

const LIMIT = 2000;
const seen = new Map<string, TurnRow>();

export function rememberTurns(turns: readonly TurnRow[]): void {
  for (const turn of turns) {
    seen.delete(turn.id);
    seen.set(turn.id, turn);
  }
  for (const id of seen.keys()) {
    if (seen.size <= LIMIT) break;
    seen.delete(id);
  }
}

export function rememberedTurn(id: string): TurnRow | undefined {
  return seen.get(id);
}

/** Newest first (ids grow with time), each turn once. */
export function mergeTurns(a: readonly TurnRow[], b: readonly TurnRow[], limit: number): TurnRow[] {
  const byId = new Map<string, TurnRow>();
  for (const turn of [...a, ...b]) byId.set(turn.id, turn);
  return [...byId.values()]
    .sort((x, y) => (BigInt(y.id) > BigInt(x.id) ? 1 : BigInt(y.id) < BigInt(x.id) ? -1 : 0))
    .slice(0, limit);
}
