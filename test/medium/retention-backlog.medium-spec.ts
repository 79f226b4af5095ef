import type { DiscoveryService } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { AuditLog } from '../../src/audit/audit-log';
import type { AsyncFulfillments } from '../../src/async/async-fulfillments';
import { CallbackDeliveries } from '../../src/async/callback-deliveries';
import { FulfillmentResults } from '../../src/async/fulfillment-results';
import type { JobQueue } from '../../src/async/job-queue';
import { Retention } from '../../src/async/retention';
import { CallerRegistry } from '../../src/auth/callers/caller-registry';
import { PostgresReplayStore } from '../../src/auth/replay/postgres-replay.store';
import { loadConfig } from '../../src/config';
import { DatabasePool } from '../../src/database/database-pool';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import { PgPools } from '../../src/database/pg-pools';
import type { OutboundHttpClient } from '../../src/outbound';
import { TestClock } from '../support/test-clock';
import { createTestDatabase, queryTestDatabase, type TestDatabase } from '../support/test-database';
import { testPool } from './support/test-pool';

/**
 * A backlog of expired rows larger than one statement should delete (the purge stopped for a while: PostgreSQL
 * away, the service scaled down). Before, each purge was one DELETE of every expired row, returning a row for
 * each: with millions it met the turns' statement_timeout every time, and the table never shrank again. Each
 * table here records how many rows every DELETE statement removed (a statement trigger on its transition table).
 */
const BACKLOG = 12_345;

describe('purging a backlog of expired rows (real PostgreSQL)', () => {
  let database: TestDatabase;
  let pg: ReturnType<typeof testPool>;
  let pool: DatabasePool;
  let dataSource: DataSource;
  const config = loadConfig({ DATABASE_URL: 'postgres://unused/x', NODE_ENV: 'test' }, '/srv');
  const query = <T extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> =>
    queryTestDatabase<T>(database.url, sql, params);
  const count = async (table: string): Promise<number> =>
    Number((await query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0].n);

  beforeAll(async () => {
    database = await createTestDatabase();
    pg = testPool({ connectionString: database.url, max: 2 });
    pool = new DatabasePool(PgPools.of(pg));
    dataSource = await new DataSource(
      buildDataSourceOptions({ ...config.database, url: database.url, poolSize: 2 }),
    ).initialize();
    await query(`
      CREATE TABLE purge_statements (table_name text NOT NULL, deleted int NOT NULL);
      CREATE FUNCTION record_purge_statement() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO purge_statements SELECT TG_TABLE_NAME, count(*) FROM gone;
          RETURN NULL;
        END $$;`);
    for (const table of ['fulfillments', 'callback_deliveries', 'replay_guard', 'audit_events']) {
      await query(`CREATE TRIGGER record_purge AFTER DELETE ON ${table} REFERENCING OLD TABLE AS gone
                   FOR EACH STATEMENT EXECUTE FUNCTION record_purge_statement()`);
    }
  }, 60_000);

  afterAll(async () => {
    await dataSource?.destroy();
    await pg?.end();
    await database?.drop();
  });

  /** The rows each DELETE on `table` removed, in order. */
  const statements = async (table: string): Promise<number[]> =>
    (await query<{ deleted: number }>('SELECT deleted FROM purge_statements WHERE table_name = $1', [table])).map(
      (row) => row.deleted,
    );
  const BATCHES = [5000, 5000, BACKLOG - 10_000];

  /** The retention job on the test database, without Nest (no queue, callers or outbound calls needed to purge). */
  const retentionJob = (): Retention => {
    const callbacks = new CallbackDeliveries(
      pool,
      {} as JobQueue,
      new CallerRegistry([]),
      {} as OutboundHttpClient,
      config,
    );
    const results = new FulfillmentResults(pool, config, callbacks, new TestClock());
    return new Retention({} as JobQueue, {} as DiscoveryService, pool, results, {} as AsyncFulfillments, config);
  };

  it('the retention job deletes expired fulfillments and old deliveries in batches, and keeps the rest', async () => {
    await query(
      `INSERT INTO fulfillments (id, caller_id, platform, session_id, intent, mode, status, expires_at)
       SELECT gen_random_uuid(), 'bot', 'generic', 's' || n, 'X', 'async', 'completed',
              CASE WHEN n <= 10 THEN now() + interval '1 day' ELSE now() - interval '1 minute' END
       FROM generate_series(1, $1::int) AS n`,
      [BACKLOG + 10],
    );
    await query(
      `INSERT INTO callback_deliveries (id, fulfillment_id, caller_id, url, payload, status, delivered_at)
       SELECT 'msg_' || n, gen_random_uuid(), 'bot', 'https://bot.example/results', '{}',
              CASE WHEN n <= 10 THEN 'pending' ELSE 'delivered' END, now() - interval '8 days'
       FROM generate_series(1, $1::int) AS n`,
      [BACKLOG + 10],
    );

    const retention = retentionJob();
    expect(await retention.purge()).toEqual({ fulfillments: BACKLOG, deliveries: BACKLOG });
    expect(await count('fulfillments')).toBe(10);
    expect(await count('callback_deliveries')).toBe(10);
    // The last statement of each found nothing left: a batch smaller than a full one ends the purge.
    expect(await statements('fulfillments')).toEqual(BATCHES);
    expect(await statements('callback_deliveries')).toEqual(BATCHES);
  });

  it('deletes dead and disabled deliveries a week after they settled, as delivered ones (each holds its result)', async () => {
    await query('DELETE FROM callback_deliveries');
    await query(
      `INSERT INTO callback_deliveries (id, fulfillment_id, caller_id, url, payload, status, updated_at)
       VALUES ('msg_dead_old', gen_random_uuid(), 'bot', 'https://bot.example/r', '{}', 'dead', now() - interval '8 days'),
              ('msg_disabled_old', gen_random_uuid(), 'bot', 'https://bot.example/r', '{}', 'disabled', now() - interval '8 days'),
              ('msg_dead_new', gen_random_uuid(), 'bot', 'https://bot.example/r', '{}', 'dead', now() - interval '1 day'),
              ('msg_pending_old', gen_random_uuid(), 'bot', 'https://bot.example/r', '{}', 'pending', now() - interval '8 days')`,
    );
    const retention = retentionJob();
    expect((await retention.purge()).deliveries).toBe(2);
    const left = await query<{ id: string }>('SELECT id FROM callback_deliveries ORDER BY id');
    expect(left.map((row) => row.id)).toEqual(['msg_dead_new', 'msg_pending_old']);
  });

  it('the replay window and the audit trail purge theirs in batches too', async () => {
    await query(
      `INSERT INTO replay_guard (caller_id, message_id, body_digest, expires_at)
       SELECT 'bot', 'msg-' || n, repeat('0', 64),
              CASE WHEN n <= 10 THEN now() + interval '5 minutes' ELSE now() - interval '1 minute' END
       FROM generate_series(1, $1::int) AS n`,
      [BACKLOG + 10],
    );
    await query(
      `ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
       INSERT INTO audit_events (occurred_at, event, caller_id, outcome)
       SELECT now() - interval '400 days', 'authn_login_fail', 'old', 'failure' FROM generate_series(1, ${BACKLOG});
       ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;`,
    );
    const auditRows = await count('audit_events');

    expect(await new PostgresReplayStore(pool).purge()).toBe(BACKLOG);
    expect(await count('replay_guard')).toBe(10);
    expect(await statements('replay_guard')).toEqual(BATCHES);
    expect(await new AuditLog(dataSource, config).purge()).toBe(BACKLOG);
    expect(await count('audit_events')).toBe(auditRows - BACKLOG);
    expect(await statements('audit_events')).toEqual(BATCHES);
  });
});
