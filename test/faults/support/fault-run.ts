import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { OwnedPostgres } from '../../support/owned-postgres';
import type { FaultCluster, FaultPostgres } from './fault-cluster';
import { balancesOf, reconcile, type Reconciliation } from './reconcile';
import { type Attempt, deadlineMisses, TurnLoad, within } from './turn-load';

const PROBE_INTERVAL_MS = 100;
const WARM_UP_MS = 1000;
const AFTER_RECOVERY_MS = 1000;
const RECOVERY_LIMIT_MS = 30_000;
/** A run still going after this long is reported (phase, times, the replicas' output) before jest's timeout. */
const REPORT_AFTER_MS = 100_000;

export interface FaultScenario<P extends FaultPostgres = OwnedPostgres> {
  readonly name: string;
  /** Breaks something; the load runs meanwhile. */
  inject(cluster: FaultCluster<P>, load: TurnLoad): Promise<void>;
  /** How long the fault lasts before `heal`. */
  readonly holdMs: number;
  heal(cluster: FaultCluster<P>, load: TurnLoad): Promise<void>;
}

export interface ReadinessSample {
  readonly at: number;
  readonly replica: number;
  /** 0: no answer within the probe's timeout (a stopped process). */
  readonly status: number;
}

export interface FaultFigures {
  readonly fault: string;
  /** Replies per second while the fault lasted (any status), and of those, turns carried out normally. */
  readonly repliesPerSecond: number;
  readonly fulfilledPerSecond: number;
  readonly degradedReplies: number;
  readonly deadlineMisses: number;
  /** The slowest answer of the run (ms), against the platform deadline the misses count. */
  readonly slowestMs: number;
  readonly unanswered: number;
  /** From the heal until every replica is ready and answers a turn normally again. */
  readonly recoveryMs: number;
}

export interface FaultRun {
  readonly figures: FaultFigures;
  readonly attempts: readonly Attempt[];
  readonly faultWindow: { from: number; to: number };
  readonly readiness: readonly ReadinessSample[];
  readonly reconciliation: Reconciliation;
  readonly unsettled: number;
  readonly alive: boolean;
  /** Replicas that had not recovered when the limit ran out, each with its last answer ([] when all did). */
  readonly notRecovered: readonly string[];
}

/**
 * One fault under load: warm up, inject, hold, heal, wait for full recovery, then settle every transfer
 * (retrying what was not confirmed, as the platform would) and reconcile the money. Readiness is probed on
 * every replica all along.
 */
export async function runFault<P extends FaultPostgres>(
  cluster: FaultCluster<P>,
  scenario: FaultScenario<P>,
  options: { concurrency?: number; transferShare?: number; customers?: readonly string[]; token?: string } = {},
): Promise<FaultRun> {
  const ports = cluster.replicas.map((replica) => replica.port);
  const load = new TurnLoad(ports, {
    concurrency: options.concurrency ?? 6,
    transferShare: options.transferShare ?? 0.6,
    customers: options.customers,
    token: options.token,
  });
  // Which phase a run is in and when each began: a run that outlives the test's timeout says where it stood.
  const phases: string[] = [];
  const phase = (name: string): void => void phases.push(`${name} at ${Math.round(load.now())} ms`);
  const watchdog = setTimeout(() => {
    console.error(
      `${scenario.name}: still running after ${REPORT_AFTER_MS} ms; phases: ${phases.join(', ')}\n${cluster.output()}`,
    );
  }, REPORT_AFTER_MS);
  watchdog.unref();
  phase('balances before');
  const before = await balancesOf(cluster);
  const readiness: ReadinessSample[] = [];
  let probing = true;
  const prober = (async () => {
    while (probing) {
      await Promise.all(
        ports.map(async (port, replica) => readiness.push({ at: load.now(), replica, status: await ready(port) })),
      );
      await sleep(PROBE_INTERVAL_MS);
    }
  })();
  try {
    phase('load');
    load.start();
    await sleep(WARM_UP_MS);
    const from = load.now();
    phase('inject');
    await scenario.inject(cluster, load);
    await sleep(scenario.holdMs);
    phase('heal');
    await scenario.heal(cluster, load);
    const to = load.now();
    phase('recovery');
    const { recoveryMs, notRecovered } = await recovered(ports, load);
    await sleep(AFTER_RECOVERY_MS);
    phase('stop load');
    await load.stop();
    phase('settle');
    const unsettled = await load.settle();
    const attempts = [...load.attempts];
    phase('reconcile');
    const reconciliation = await reconcile(cluster, before, [...load.transfers.values()], attempts);
    const during = within(attempts, from, to);
    const seconds = Math.max(0.001, (to - from) / 1000);
    const figures: FaultFigures = {
      fault: scenario.name,
      repliesPerSecond: round(during.filter((a) => a.status > 0).length / seconds),
      fulfilledPerSecond: round(during.filter((a) => a.outcome === 'fulfilled').length / seconds),
      degradedReplies: during.filter((a) => a.outcome === 'degraded' || a.status === 503).length,
      deadlineMisses: deadlineMisses(attempts).length,
      slowestMs: Math.round(Math.max(0, ...attempts.filter((a) => a.status > 0).map((a) => a.ms))),
      unanswered: attempts.filter((a) => a.status === 0).length,
      recoveryMs: Math.round(recoveryMs),
    };
    return {
      figures,
      attempts,
      faultWindow: { from, to },
      readiness,
      reconciliation,
      unsettled: unsettled.length,
      alive: cluster.alive(),
      notRecovered,
    };
  } finally {
    clearTimeout(watchdog);
    probing = false;
    await prober;
    await load.close();
  }
}

async function ready(port: number): Promise<number> {
  try {
    const response = await request(`http://127.0.0.1:${port}/health/ready`, {
      headersTimeout: 1000,
      bodyTimeout: 1000,
      reset: true,
    });
    await response.body.dump();
    return response.statusCode;
  } catch {
    return 0;
  }
}

/**
 * ms until every replica is ready and has answered a balance turn normally (the limit if one never does), and
 * the last answer of each replica that had not.
 */
async function recovered(
  ports: readonly number[],
  load: TurnLoad,
): Promise<{ recoveryMs: number; notRecovered: string[] }> {
  const healed = load.now();
  const until = healed + RECOVERY_LIMIT_MS;
  const done = new Set<number>();
  const last = new Map<number, string>();
  while (done.size < ports.length && load.now() < until) {
    for (const [replica, port] of ports.entries()) {
      if (done.has(replica)) continue;
      const readiness = await ready(port);
      if (readiness !== 200) {
        last.set(replica, `readiness ${readiness}`);
        continue;
      }
      const requestId = `recovery-${replica}-${Math.round(load.now())}`;
      const attempt = await load.send(
        'balance',
        requestId,
        { requestId, sessionId: requestId, intent: 'GetAccountBalance', parameters: { user_id: '12345' } },
        replica,
      );
      if (attempt.outcome === 'fulfilled') done.add(replica);
      else last.set(replica, `a balance turn answered ${attempt.status} ${attempt.outcome ?? attempt.error ?? ''}`);
    }
    if (done.size < ports.length) await sleep(50);
  }
  const notRecovered = ports.flatMap((_, replica) =>
    done.has(replica) ? [] : [`replica-${replica}: ${last.get(replica) ?? 'never asked'}`],
  );
  return { recoveryMs: notRecovered.length === 0 ? load.now() - healed : RECOVERY_LIMIT_MS, notRecovered };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
