import type { FaultCluster, FaultPostgres } from './fault-cluster';
import { PLATFORM_DEADLINE_MS } from './fault-cluster';
import type { FaultRun } from './fault-run';
import type { Attempt } from './turn-load';

/** Every replica process survived the fault; when one did not, the failure shows the replicas' output. */
export function expectAlive(run: FaultRun, cluster: FaultCluster<FaultPostgres>): void {
  const context = `${run.figures.fault}\n${JSON.stringify(run.figures)}\n${cluster.output()}`;
  expect({ alive: run.alive, context: run.alive ? '' : context }).toEqual({ alive: true, context: '' });
}

/** Every transfer was carried out exactly once, settled, and balances and ledgers agree with them. */
export function expectNothingLostOrDoubled(run: FaultRun): void {
  expect(run.reconciliation).toEqual({
    lost: [],
    doubled: [],
    confirmedButMissing: [],
    balanceMismatches: [],
    ledgerMismatches: [],
    transfers: expect.any(Number),
  });
  expect(run.unsettled).toBe(0);
}

/** No reply came later than the platform waits (listed with what identifies it when one did). */
export function expectInTime(attempts: readonly Attempt[]): void {
  const late = attempts.filter((attempt) => attempt.ms > PLATFORM_DEADLINE_MS);
  expect(
    late.map(({ ms, status, outcome, kind, replica }) => ({ ms: Math.round(ms), status, outcome, kind, replica })),
  ).toEqual([]);
}
