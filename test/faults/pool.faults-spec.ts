import { Client } from 'pg';
import { request } from 'undici';
import { CUSTOMERS, FaultCluster } from './support/fault-cluster';
import { recordFigures } from './support/figures';
import { type FaultRun, runFault } from './support/fault-run';
import { type Attempt, type TurnLoad, within } from './support/turn-load';
import { expectAlive, expectInTime, expectNothingLostOrDoubled } from './support/verdicts';

/**
 * A busy database is not a down database. One customer's rows locked by a long transaction elsewhere, or
 * every transfer stuck behind a table lock, keeps a pool's worth of turns waiting: the other intents and the
 * other customers are still served in time, readiness stays 200 on every replica (a load balancer must not
 * take them all out of rotation), and the stuck turns get a reply in time and settle afterwards.
 */
describe('a busy database under load (two replicas): hot rows and a saturated pool', () => {
  let cluster: FaultCluster;

  beforeAll(async () => {
    cluster = await FaultCluster.start({ metrics: true });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  /** An outside session holding `lockSql` in an open transaction until `release`. */
  async function holdLock(lockSql: string): Promise<{ release(): Promise<void> }> {
    const blocker = new Client({ connectionString: cluster.databaseUrl, application_name: 'fault-test-blocker' });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query(lockSql);
    return {
      async release() {
        await blocker.query('COMMIT');
        await blocker.end();
      },
    };
  }

  /** `count` transfers at once, spread over the replicas and the given customers. */
  function burst(load: TurnLoad, count: number, customers: readonly string[]): Promise<Attempt[]> {
    return Promise.all(
      Array.from({ length: count }, (_, index) =>
        load.sendTransfer(
          {
            requestId: load.nextRequestId(),
            customer: customers[index % customers.length],
            amountMinor: 1n,
          },
          index % cluster.replicas.length,
        ),
      ),
    );
  }

  function expectSound(run: FaultRun): void {
    expectAlive(run, cluster);
    expectNothingLostOrDoubled(run);
  }

  function expectAlwaysReady(run: FaultRun): void {
    const notReady = run.readiness.filter((sample) => sample.status !== 200);
    expect(notReady).toEqual([]);
    // Samples were taken all through the fault, on both replicas.
    for (const replica of cluster.replicas.keys()) {
      const during = run.readiness.filter(
        (sample) => sample.replica === replica && sample.at >= run.faultWindow.from && sample.at <= run.faultWindow.to,
      );
      expect(during.length).toBeGreaterThan(5);
    }
  }

  function expectFulfilledInTime(attempts: readonly Attempt[]): void {
    expect(attempts.length).toBeGreaterThan(0);
    const unserved = attempts.filter((attempt) => attempt.outcome !== 'fulfilled');
    expect(unserved.map(({ status, outcome, text, kind }) => ({ status, outcome, text, kind }))).toEqual([]);
    expectInTime(attempts);
  }

  async function poolWaits(lane: string): Promise<number> {
    let total = 0;
    for (const replica of cluster.replicas) {
      const response = await request(`http://127.0.0.1:${replica.metricsPort}/metrics`);
      const text = await response.body.text();
      const line = text.split('\n').find((entry) => entry.startsWith(`db_pool_wait_seconds_count{lane="${lane}"`));
      total += Number(line?.split(' ').at(-1) ?? 0);
    }
    return total;
  }

  it('one customer’s rows locked for 4 s while 60 of its transfers arrive: everyone else is served, nothing lost', async () => {
    const hot = CUSTOMERS[0];
    let blocker: { release(): Promise<void> } | undefined;
    let hotTurns: Promise<Attempt[]> = Promise.resolve([]);
    const run = await runFault(
      cluster,
      {
        name: 'a hot row: one customer locked by an outside transaction, 60 of its transfers at once',
        holdMs: 4000,
        inject: async (c, load) => {
          blocker = await holdLock(
            `SELECT a.id FROM accounts a JOIN customers c ON c.id = a.customer_id
              WHERE c.customer_number = '${hot}' FOR UPDATE`,
          );
          hotTurns = burst(load, 60, [hot]);
        },
        heal: async () => {
          await blocker?.release();
          await hotTurns;
        },
      },
      { customers: CUSTOMERS.slice(1) },
    );
    recordFigures(run.figures);
    expectSound(run);
    expectAlwaysReady(run);
    expectInTime(run.attempts);
    const hotIds = new Set((await hotTurns).map((attempt) => attempt.requestId));
    expect(hotIds.size).toBe(60);
    // Everyone else's turns sent during the fault: answered normally, in time.
    expectFulfilledInTime(
      within(run.attempts, run.faultWindow.from, run.faultWindow.to).filter(
        (attempt) => !hotIds.has(attempt.requestId),
      ),
    );
  }, 120_000);

  it('every transfer stuck behind a table lock for 4 s: lookups and readiness unaffected, transfers busy in time', async () => {
    let blocker: { release(): Promise<void> } | undefined;
    let stuck: Promise<Attempt[]> = Promise.resolve([]);
    const waitsBefore = await poolWaits('TransferFunds');
    const run = await runFault(cluster, {
      name: 'a saturated lane: every transfer waits on a table lock, 60 more at once',
      holdMs: 4000,
      inject: async (c, load) => {
        blocker = await holdLock('LOCK TABLE transfers IN ACCESS EXCLUSIVE MODE');
        stuck = burst(load, 60, CUSTOMERS);
      },
      heal: async () => {
        await blocker?.release();
        await stuck;
      },
    });
    recordFigures(run.figures);
    expectSound(run);
    expectAlwaysReady(run);
    expectInTime(run.attempts);
    const during = within(run.attempts, run.faultWindow.from, run.faultWindow.to);
    // Lookups use another lane of the pool: served normally.
    expectFulfilledInTime(during.filter((attempt) => attempt.kind === 'balance'));
    // Transfers sent in the first moments of the lock could not be carried out in time: they were told so in time.
    const stuckReplies = await stuck;
    expect(
      stuckReplies.filter((attempt) => attempt.outcome === 'fulfilled' && /^Done/.test(attempt.text ?? '')),
    ).toEqual([]);
    // The waits for the transfers' share of the pool are visible to operators.
    expect(await poolWaits('TransferFunds')).toBeGreaterThan(waitsBefore);
  }, 120_000);
});
