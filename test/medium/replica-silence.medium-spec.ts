import { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { DatabasePool } from '../../src/database/database-pool';
import { PgPools } from '../../src/database/pg-pools';
import { ReadReplicas, replicaName } from '../../src/database/replicas/read-replicas';
import { sql } from '../../src/database/sql';
import type { Metrics } from '../../src/observability/metrics';
import { collectedPoints, metricsForTest } from '../../src/observability/testing/collected-metrics';
import { FaultProxy } from '../faults/support/fault-proxy';
import { eventually } from '../support/eventually';
import { freePort } from '../support/service-process';
import { describeWithStreamingReplication, StreamingPair } from '../support/streaming-replica';

/** Who answered a read: the replica is in recovery, the primary is not. */
const WHO_ANSWERS = sql<{ standby: boolean }>('replica_silence_who_answers', 'SELECT pg_is_in_recovery() AS standby');
const BUSY_READ = sql<{ standby: boolean }>(
  'replica_silence_busy_read',
  'SELECT pg_is_in_recovery() AS standby FROM pg_sleep(0.05)',
);
const LAG_TOLERANT = { scope: '["customer","C-1"]' };
/**
 * Long, so that a read left to the replica pool's read timeout (statement timeout + 2 s) would wait far longer than
 * the service now gives a silent replica.
 */
const STATEMENT_TIMEOUT_MS = 10_000;

const metricsOn = metricsForTest;

/** The gauge's value for `replica` as a scrape would read it (undefined when the series is not there). */
async function gaugeOf(metrics: Metrics, name: string, replica: string): Promise<number | undefined> {
  const point = (await collectedPoints(metrics, name)).find((candidate) => candidate.attributes.replica === replica);
  return point?.value as number | undefined;
}

describeWithStreamingReplication()(
  'a read replica that goes silent or down (real primary and streaming replica)',
  () => {
    let pair: StreamingPair;
    let primary: Pool;
    let proxy: FaultProxy;
    let replicas: ReadReplicas;
    let metrics: Metrics;
    let database: DatabasePool;
    let name: string;

    beforeAll(async () => {
      pair = await StreamingPair.start(await freePort(), await freePort());
      primary = new Pool({ connectionString: pair.url('primary'), max: 4 });
      primary.on('error', () => undefined);
      await primary.query('CREATE TABLE writes (id serial PRIMARY KEY)');
    }, 120_000);

    afterAll(async () => {
      await primary?.end();
      await pair?.close();
    });

    beforeEach(async () => {
      // The service reaches the replica through a path the test breaks.
      proxy = await FaultProxy.start(pair.replica.port);
      const url = `postgres://postgres@127.0.0.1:${proxy.port}/postgres`;
      const config = loadConfig(
        {
          DATABASE_URL: pair.url('primary'),
          DATABASE_REPLICA_URLS: url,
          DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
          REPLICA_CHECK_INTERVAL_MS: '200',
        },
        '/srv',
      );
      const pools = PgPools.of(primary);
      metrics = metricsOn();
      replicas = new ReadReplicas(config, pools, metrics);
      database = new DatabasePool(pools, undefined, replicas);
      name = replicaName(url);
      // A write to replay: an idle primary just past a WAL page header (as right after the base backup's segment
      // switch) would make the replica, which stops at the page boundary, look ever later.
      await primary.query('INSERT INTO writes DEFAULT VALUES');
      replicas.onModuleInit();
      await eventually(() => expect(replicas.states()[0]).toMatchObject({ readable: true, lagMs: 0 }), 30_000);
      // Under traffic the replica's pool holds connections open: reads on them are what a silent path holds.
      const reads = await Promise.all([1, 2, 3].map(() => database.run(BUSY_READ, [], undefined, LAG_TOLERANT)));
      expect(reads.map(([row]) => row.standby)).toEqual([true, true, true]);
    }, 60_000);

    afterEach(async () => {
      // The proxy first: a connection left on a silent path would never end otherwise.
      await proxy.close();
      await replicas.onApplicationShutdown();
      await metrics.onApplicationShutdown();
    });

    it('silent: it gets no reads within about a second, and a read waiting on it is answered by the primary as soon', async () => {
      proxy.blackHole(); // connections stay open, nothing answers: a lost host, a black-holed route
      const wentSilent = Date.now();
      const reading = database.run(WHO_ANSWERS, [], undefined, LAG_TOLERANT);
      // Found silent by its check (not lagging: nothing is written meanwhile).
      await eventually(() => expect(replicas.states()[0]).toMatchObject({ up: false, readable: false }), 4000, 20);
      const [row] = await reading;
      expect(row.standby).toBe(false);
      // Far below the replica pool's read timeout (STATEMENT_TIMEOUT_MS + 2 s) the read used to wait out.
      expect(Date.now() - wentSilent).toBeLessThan(4000);

      proxy.heal(); // new connections pass again: the replica gets reads once a check finds it well
      await eventually(() => expect(replicas.states()[0].readable).toBe(true), 10_000);
      const [again] = await database.run(WHO_ANSWERS, [], undefined, LAG_TOLERANT);
      expect(again.standby).toBe(true);
    }, 30_000);

    it('down: its lag reads unknown (NaN, and none in readiness), not its last value', async () => {
      expect(replicas.states()[0].lagMs).toEqual(expect.any(Number));
      expect(await gaugeOf(metrics, 'db_replica_lag_seconds', name)).toEqual(expect.any(Number));
      proxy.reset(); // every connection reset, and each new one
      await eventually(() => expect(replicas.states()[0].up).toBe(false), 10_000);
      expect(replicas.states()[0].lagMs).toBeUndefined();
      expect(await gaugeOf(metrics, 'db_replica_lag_seconds', name)).toBeNaN();
      expect(await gaugeOf(metrics, 'db_replica_up', name)).toBe(0);
    }, 30_000);
  },
);
