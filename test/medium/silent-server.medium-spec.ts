import type { Pool, PoolConfig } from 'pg';
import { type AppConfig, loadConfig } from '../../src/config';
import { isConnectionError } from '../../src/database/connection-errors';
import { DatabaseAvailability } from '../../src/database/database-availability';
import { DatabaseProbe } from '../../src/database/database-probe';
import { ConnectionGivenUpError } from '../../src/database/open-connections';
import { PgPools } from '../../src/database/pg-pools';
import { FaultProxy } from '../faults/support/fault-proxy';
import { eventually } from '../support/eventually';
import { freePort } from '../support/service-process';
import { RUN_CREDENTIALS, RUN_PORT, runUrlAt, URL_OF_RUN } from './support/run-server';

/** Connections the pool holds open in these tests. */
const POOL_SIZE = 3;

/** The service's pools and probe for DATABASE_URL `url`, as the app builds them (statement timeout 1 s). */
function serviceOn(url: string): { config: AppConfig; pools: PgPools; pool: Pool; probe: DatabaseProbe } {
  const config = loadConfig({ DATABASE_URL: url, DB_STATEMENT_TIMEOUT_MS: '1000' }, '/srv');
  const pools = new PgPools(config);
  const driver = pools.driver();
  const options: PoolConfig = { connectionString: config.database.url, max: POOL_SIZE, connectionTimeoutMillis: 2000 };
  const pool = new driver.Pool(options);
  pool.on('error', () => undefined);
  return { config, pools, pool, probe: new DatabaseProbe(config, pools) };
}

/** Every connection of the pool opened, answering, and back in the pool idle. */
async function fillPool(pool: Pool): Promise<void> {
  await Promise.all(Array.from({ length: POOL_SIZE }, () => pool.query('SELECT pg_sleep(0.05)')));
  expect(pool.idleCount).toBe(POOL_SIZE);
}

/** A query on each of the pool's connections at once; what each answered. */
async function queryEach(pool: Pool): Promise<number[]> {
  const results = await Promise.all(
    Array.from({ length: POOL_SIZE }, () => pool.query<{ one: number }>('SELECT 1 AS one')),
  );
  return results.map((result) => result.rows[0].one);
}

/**
 * A path to PostgreSQL that goes silent (a lost host, a failed-over primary's old address, a black-holed route)
 * answers nothing and ends nothing: each idle pooled connection on it would hold the turn that takes it for the whole
 * read timeout (here 1 s statement timeout + 2 s), one after another, long after the address (or the list's next
 * server) serves again. Once the probe finds the path silent, connections opened before are given up instead.
 */
describe('connections on a path the probe found silent (real PostgreSQL behind a proxy)', () => {
  const opened: { pool: Pool; probe: DatabaseProbe }[] = [];
  const proxies: FaultProxy[] = [];

  async function proxy(): Promise<FaultProxy> {
    const started = await FaultProxy.start(RUN_PORT);
    proxies.push(started);
    return started;
  }

  function service(url: string): ReturnType<typeof serviceOn> {
    const built = serviceOn(url);
    opened.push(built);
    return built;
  }

  afterEach(async () => {
    // The proxies first: a connection left on a silent path would never end otherwise.
    for (const started of proxies.splice(0)) await started.close();
    for (const { pool, probe } of opened.splice(0)) {
      await probe.onModuleDestroy();
      await pool.end().catch(() => undefined);
    }
  });

  it('an address that now names a live server: the pool opens new connections instead of waiting on its old ones', async () => {
    const path = await proxy();
    const { pool, probe, pools } = service(runUrlAt(path.port));
    await probe.ping();
    await fillPool(pool);
    // The old connections go silent for good; new ones through the same address reach a server (a Service's new
    // endpoint, a moved virtual IP).
    path.blackHole();
    path.heal();
    const unanswered = probe.ping();
    // Opened while the probe waits, through the address that serves again: not given up with the old ones.
    const recent = new (pools.clientClass(5000))(runUrlAt(path.port));
    await recent.connect();
    await expect(unanswered).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    // The three idle connections were given up and dropped: every query runs on a new one.
    expect(await queryEach(pool)).toEqual([1, 1, 1]);
    expect((await recent.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await recent.end();
    expect(pool.totalCount).toBe(POOL_SIZE);
    // The probe's next round trip, on a new connection, answers.
    await expect(probe.ping()).resolves.toBeUndefined();
  });

  it('several servers listed: the next connections search again and go to the one that answers', async () => {
    const [first, second] = [await proxy(), await proxy()];
    // Both paths reach the run's server; the second refuses until the first is chosen.
    second.reset();
    const url =
      `postgres://${RUN_CREDENTIALS}@127.0.0.1:${first.port},127.0.0.1:${second.port}${URL_OF_RUN.pathname}` +
      '?target_session_attrs=read-write';
    const { pool, probe } = service(url);
    await probe.ping();
    await fillPool(pool);
    expect(second.connections).toBe(0);
    second.heal();
    // The first server's host is lost: its address answers nothing, old connections or new.
    first.blackHole();
    await expect(probe.ping()).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(await queryEach(pool)).toEqual([1, 1, 1]);
    expect(second.connections).toBeGreaterThanOrEqual(POOL_SIZE);
    await expect(probe.ping()).resolves.toBeUndefined();
  });

  it('nothing listening at the address any more: the connections still open to it are given up', async () => {
    const path = await proxy();
    const { pool, probe } = service(runUrlAt(path.port));
    await fillPool(pool);
    // The host is gone: its open connections silent, new ones refused. The probe has no connection yet: its first
    // is refused, and nothing took it.
    path.blackHole();
    path.stopListening();
    await expect(probe.ping()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    // The pool's idle connections were given up: a query opens a new one and is refused at once, instead of
    // waiting out the read timeout on an old one (NoAnswerError).
    await expect(pool.query('SELECT 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(pool.totalCount).toBe(0);
  });

  it('a server slow to take a new connection is not found silent: the connections it already has go on', async () => {
    const path = await proxy();
    const { pool, probe } = service(runUrlAt(path.port));
    await fillPool(pool);
    const pids = async (): Promise<number[]> => {
      const results = await Promise.all(
        Array.from({ length: POOL_SIZE }, () => pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')),
      );
      return results.map((result) => result.rows[0].pid).sort();
    };
    const before = await pids();
    // Something takes the probe's new connection and never sets it up (an overloaded server, a pooler waiting for a
    // server of its own); the open connections are served as before.
    path.stallNew();
    await expect(probe.ping()).rejects.toMatchObject({ message: expect.stringMatching(/timeout expired|no answer/) });
    expect(await pids()).toEqual(before);
  });

  it('a statement left unanswered makes the probe look, and be given up long before the read timeout', async () => {
    const path = await proxy();
    // A read timeout of 7 s (statement timeout 5 s + 2 s), and no readiness checks to run the probe.
    const config = loadConfig({ DATABASE_URL: runUrlAt(path.port), DB_STATEMENT_TIMEOUT_MS: '5000' }, '/srv');
    const pools = new PgPools(config);
    const pool = new (pools.driver().Pool)({ connectionString: config.database.url, max: POOL_SIZE });
    pool.on('error', () => undefined);
    const probe = new DatabaseProbe(config, pools);
    const availability = new DatabaseAvailability(probe, config, pools);
    opened.push({ pool, probe });
    try {
      await probe.ping();
      await fillPool(pool);
      path.blackHole();
      path.heal();
      // Late after 1 s: the probe's round trip gets no answer within 2 s, and every connection on the path is given
      // up. Left to the read timeout, the statement would fail with NoAnswerError after 7 s.
      const failed = await pool.query('SELECT 1').catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(ConnectionGivenUpError);
      // Taken for unreachable once the probe has dropped its own connection.
      await eventually(() => expect(availability.isAvailable).toBe(false));
    } finally {
      availability.onModuleDestroy();
    }
  });

  it('a statement in flight on the silent path fails at once, as on a lost connection; new connections work', async () => {
    const path = await proxy();
    const { pools } = service(runUrlAt(path.port));
    // Left to itself, the statement would wait out this read timeout and fail with NoAnswerError.
    const Client = pools.clientClass(5000);
    const [waiting, idle] = [new Client(runUrlAt(path.port)), new Client(runUrlAt(path.port))];
    await Promise.all([waiting.connect(), idle.connect()]);
    path.blackHole();
    path.heal();
    const inFlight = waiting.query('SELECT 1');
    pools.serverSilent({ host: '127.0.0.1', port: path.port }, 'no answer within 2000 ms', { news: true });

    await expect(inFlight).rejects.toBeInstanceOf(ConnectionGivenUpError);
    await expect(inFlight).rejects.toMatchObject({
      code: '08006',
      message: `the connection to 127.0.0.1:${path.port} was given up: the probe found 127.0.0.1:${path.port} silent (no answer within 2000 ms)`,
    });
    expect(isConnectionError(await inFlight.catch((error: unknown) => error))).toBe(true);
    // An idle one (pg-boss's between polls, the notification connection between heartbeats) fails its next
    // statement at once, with a connection error.
    const next = await idle.query('SELECT 1').catch((error: unknown) => error);
    expect(isConnectionError(next)).toBe(true);

    const fresh = new Client(runUrlAt(path.port));
    await fresh.connect();
    try {
      expect((await fresh.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await fresh.end();
    }
  });

  it("a connection to another server is not given up by one server's verdict", async () => {
    const [lost, other] = [await proxy(), await proxy()];
    const { pools } = service(runUrlAt(lost.port));
    const Client = pools.clientClass(10_000);
    const elsewhere = new Client(runUrlAt(other.port));
    await elsewhere.connect();
    try {
      pools.serverSilent({ host: '127.0.0.1', port: lost.port }, 'no answer within 2000 ms', { news: true });
      expect((await elsewhere.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await elsewhere.end();
    }
  });

  it('keeps no connection that failed to open, or has ended, in its registry (an outage of retries grows nothing)', async () => {
    const path = await proxy();
    const { pools } = service(runUrlAt(path.port));
    const Client = pools.clientClass(5000);
    const nobody = await freePort();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await expect(new Client(runUrlAt(nobody)).connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    }
    const served = new Client(runUrlAt(path.port));
    await served.connect();
    expect(pools.open.count(`127.0.0.1:${path.port}`)).toBe(1);
    await served.end();
    await eventually(() => {
      expect(pools.open.count(`127.0.0.1:${nobody}`)).toBe(0);
      expect(pools.open.count(`127.0.0.1:${path.port}`)).toBe(0);
    });
  });
});
