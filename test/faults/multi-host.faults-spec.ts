import { eventually } from '../support/eventually';
import { describeWithStreamingReplication } from '../support/streaming-replica';
import { FailoverPostgres } from './support/failover-postgres';
import { FaultCluster } from './support/fault-cluster';
import { runFault } from './support/fault-run';
import { recordFigures } from './support/figures';
import { expectAlive, expectInTime, expectNothingLostOrDoubled } from './support/verdicts';

/**
 * A failover where no address moves: DATABASE_URL lists the primary and its synchronous standby, each by an address
 * of its own (a Patroni cluster without a virtual IP, CloudNativePG's pods by name), with
 * `target_session_attrs=read-write`. Under transfers and balance lookups the primary's host is lost for good (its
 * address goes silent: open connections never answer again and new ones are never accepted; its postmaster is
 * killed) and the standby is promoted. Nothing moves and nothing is healed: the replicas must find the promoted
 * standby among the listed servers by themselves, without waiting on the silent one, and lose and double nothing.
 */
describeWithStreamingReplication()(
  'PostgreSQL failover with no address that follows the primary (DATABASE_URL lists both servers)',
  () => {
    let cluster: FaultCluster<FailoverPostgres>;

    beforeAll(async () => {
      cluster = await FaultCluster.start({
        postgres: (port) => FailoverPostgres.start(port),
        otherServers: (postgres) => [postgres.standbyPort],
      });
    }, 120_000);

    afterAll(async () => {
      await cluster?.stop();
    });

    it('the primary listed first is lost; the replicas find the promoted standby, in time, losing and doubling nothing', async () => {
      const [standbyPath] = cluster.otherPaths;
      // Before: every connection goes by the primary's path; the standby's carries none (a search's question ends).
      await eventually(() => {
        expect(cluster.proxy.connections).toBeGreaterThan(0);
        expect(standbyPath?.connections).toBe(0);
      });
      const run = await runFault(cluster, {
        name: 'failover, no address moved: the primary listed first lost for good, its standby promoted',
        holdMs: 0,
        inject: async (c) => {
          c.proxy.blackHole();
          await c.postgres.failOver();
        },
        // The lost host stays lost, and no address moves: the replicas have only the list.
        heal: () => Promise.resolve(),
      });
      recordFigures(run.figures);
      expectAlive(run, cluster);
      expectInTime(run.attempts);
      expectNothingLostOrDoubled(run);
      expect(run.notRecovered).toEqual([]);
      expect(run.figures.recoveryMs).toBeLessThan(30_000);
      expect(run.reconciliation.transfers).toBeGreaterThan(0);
      // Readiness answered throughout (DEGRADED_MODE=reply: the polite reply keeps reaching the bots).
      expect(run.readiness.filter((sample) => sample.status !== 200)).toEqual([]);
      for (const replica of cluster.replicas) {
        // The probe found the lost host's path silent: its connections were given up at once (not each after the
        // read timeout), and the next connection searched the list.
        expect(replica.service.output()).toMatch(
          new RegExp(`"level":"warn".*"The probe found 127\\.0\\.0\\.1:${cluster.proxy.port} silent \\(`),
        );
        expect(replica.service.output()).toMatch(
          new RegExp(`"level":"warn".*"Connections now go to 127\\.0\\.0\\.1:${standbyPath?.port} \\(`),
        );
      }
    }, 120_000);

    it('after it, every replica listens for notifications and probes on the new primary', async () => {
      // The listening connection only reads: its heartbeat finds its old path dead and it connects again.
      await eventually(async () => {
        const sessions = await cluster.query<{ application_name: string; n: string }>(
          `SELECT application_name, count(*) AS n FROM pg_stat_activity
            WHERE datname = 'faults' AND application_name IN
              ('webhook-fulfillment-notifications', 'webhook-fulfillment-probe')
            GROUP BY 1 ORDER BY 1`,
        );
        const replicas = String(cluster.replicas.length);
        expect(sessions).toEqual([
          { application_name: 'webhook-fulfillment-notifications', n: replicas },
          { application_name: 'webhook-fulfillment-probe', n: replicas },
        ]);
      }, 20_000);
    }, 30_000);
  },
);
