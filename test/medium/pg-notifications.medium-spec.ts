import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { AppConfig } from '../../src/config';
import { HEARTBEAT_INTERVAL_MS, PgNotifications } from '../../src/database/pg-notifications';
import { PgPools } from '../../src/database/pg-pools';
import { FaultProxy } from '../faults/support/fault-proxy';
import { eventually } from '../support/eventually';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { testPool } from './support/test-pool';

/**
 * The listening connection on a path that goes dead without a word (a failed-over primary's host gone): it only
 * reads, so nothing it does would notice. Its heartbeat does, and it connects again.
 */
describe('PgNotifications on a path that goes dead silently (real PostgreSQL behind a proxy)', () => {
  let database: TestDatabase;
  let proxy: FaultProxy;
  let pool: Pool;
  let notifications: PgNotifications;
  let pools: PgPools;
  const received: string[] = [];
  /** `afterGap` of every time the subscription took effect. */
  const listening: boolean[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    const direct = new URL(database.url);
    proxy = await FaultProxy.start(Number(direct.port || 5432));
    const throughProxy = new URL(database.url);
    throughProxy.hostname = '127.0.0.1';
    throughProxy.port = String(proxy.port);
    pool = testPool({ connectionString: database.url, max: 2 });
    const config = Object.assign(Object.create(AppConfig.prototype) as AppConfig, {
      database: { url: throughProxy.toString(), statementTimeoutMs: 500 },
    });
    pools = PgPools.of(pool);
    notifications = new PgNotifications(config, pools);
    const channel = notifications.channel('wf_heartbeat_test');
    channel.subscribe(
      (message) => received.push(message),
      (afterGap) => listening.push(afterGap),
    );
    await eventually(async () => {
      await channel.publish('first');
      expect(received).toContain('first');
    });
  });

  afterAll(async () => {
    await notifications?.onApplicationShutdown();
    await pool?.end();
    await proxy?.close();
    await database?.drop();
  });

  it('publishes several messages in one statement, in their order', async () => {
    const channel = notifications.channel('wf_heartbeat_test');
    const start = received.length;
    await channel.publishAll(['batch-1', 'batch-2', 'batch-3']);
    await eventually(() => expect(received.slice(start)).toEqual(['batch-1', 'batch-2', 'batch-3']));
  });

  it('notices within a heartbeat and the read timeout, connects again and hears what is sent afterwards', async () => {
    const channel = notifications.channel('wf_heartbeat_test');
    // Everything open on the path now is swallowed for good; new connections pass again at once.
    proxy.blackHole();
    proxy.heal();
    await channel.publish('into the black hole');
    await eventually(() => expect(listening).toEqual([false, true]), HEARTBEAT_INTERVAL_MS + 2500 + 5000, 100);
    await eventually(async () => {
      await channel.publish('after');
      expect(received).toContain('after');
    });
    expect(received).not.toContain('into the black hole');
  }, 30_000);

  it('is given up with the other connections when the probe finds its server silent, and connects again', async () => {
    const warnings = jest.spyOn(Logger.prototype, 'warn');
    try {
      const channel = notifications.channel('wf_heartbeat_test');
      proxy.blackHole();
      proxy.heal();
      pools.serverSilent({ host: '127.0.0.1', port: proxy.port }, 'no answer within 2000 ms', { news: false });
      // Given up at once, not found dead by its next heartbeat and the read timeout.
      await eventually(() => expect(listening).toEqual([false, true, true]));
      expect(warnings).toHaveBeenCalledWith(
        expect.stringMatching(/^The notification connection was lost: the connection to 127\.0\.0\.1:\d+ was given up/),
      );
      await eventually(async () => {
        await channel.publish('after the verdict');
        expect(received).toContain('after the verdict');
      });
    } finally {
      warnings.mockRestore();
    }
  });
});

describe('PgNotifications shut down while its connection is being opened (real PostgreSQL)', () => {
  let database: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = testPool({ connectionString: database.url, max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('leaves no listening connection behind (the one being opened went on listening after shutdown)', async () => {
    const config = Object.assign(Object.create(AppConfig.prototype) as AppConfig, {
      database: { url: database.url, statementTimeoutMs: 3000 },
    });
    const listeners = async () =>
      (
        await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND query = 'LISTEN wf_shutdown_test'`,
        )
      ).rows[0].n;
    for (let round = 0; round < 5; round++) {
      const notifications = new PgNotifications(config, PgPools.of(pool));
      // Subscribing opens the connection; shutdown comes before it is open.
      notifications.channel('wf_shutdown_test').subscribe(
        () => undefined,
        () => undefined,
      );
      await notifications.onApplicationShutdown();
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await listeners()).toBe(0);
  });
});
