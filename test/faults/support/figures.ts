import { appendFileSync } from 'node:fs';
import type { FaultFigures } from './fault-run';

/**
 * Keeps each fault's figures (turns per second during the fault, deadline misses, time to recovery) for
 * `npm run bench:faults`, which names the file in FAULT_FIGURES_FILE; a plain test run keeps nothing.
 */
export function recordFigures(figures: FaultFigures): void {
  const file = process.env.FAULT_FIGURES_FILE;
  if (file) appendFileSync(file, `${JSON.stringify(figures)}\n`);
}
