import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool, PoolClient } from 'pg';
import { CaptureRules } from '../../src/console/capture/capture-rules';
import { ConsoleOptions } from '../../src/console/console.options';
import type { AppConfig } from '../../src/config';
import { DatabasePool } from '../../src/database/database-pool';
import { PgNotifications } from '../../src/database/pg-notifications';
import { PgPools } from '../../src/database/pg-pools';
import { TurnLogQueries } from '../../src/console/turn-log/turn-log.queries';
import { TURN_LOG_BATCH_SIZE, TURN_LOG_LOCK, TurnLogWriter } from '../../src/console/turn-log/turn-log.writer';
import { TurnTail } from '../../src/console/turn-log/turn-tail';
import { type FinishedTurn, TurnJournal } from '../../src/observability/turn-journal';
import { REDACTED } from '../../src/observability/redaction';
import { FaultProxy } from '../faults/support/fault-proxy';
import { eventually } from '../support/eventually';
import { mediumDatabase, MediumDatabase } from './support/medium-database';
import { testPool } from './support/test-pool';

const options = (maxBuffered = 1000, enabled = true): ConsoleOptions => ({
  turnLog: { enabled, retentionHours: 24, flushMs: 60_000, maxBuffered },
  sessionSecret: Buffer.alloc(32),
  sessionTtlMs: 3_600_000,
  secureCookies: false,
  publicOrigin: 'http://127.0.0.1:9465',
});

const turn = (n: number, overrides: Partial<FinishedTurn> = {}): FinishedTurn => ({
  at: Date.parse('2026-12-02T10:00:00Z') + n,
  requestId: `req-${n}`,
  platform: 'dialogflow-es',
  intent: 'GetAccountBalance',
  callerId: 'bot',
  outcome: 'fulfilled',
  durationMs: 12.5,
  budgetMs: 5000,
  ...overrides,
});

describe('turn log on PostgreSQL (writer, no Nest)', () => {
  let db: MediumDatabase;
  let journal: TurnJournal;
  let writer: TurnLogWriter;
  let config: AppConfig;
  const notifications: PgNotifications[] = [];
  const publishers: Pool[] = [];
  /** Stopped after each test: a reload timer left behind fires in this worker's later files, on an ended pool. */
  const captureRules: CaptureRules[] = [];

  beforeEach(async () => {
    db = await mediumDatabase();
    journal = new TurnJournal();
    config = {
      database: { url: db.database.url, statementTimeoutMs: 3000 },
      observability: { parameterAllowlist: ['account_type'] },
      audit: { retentionDays: 30 },
    } as unknown as AppConfig;
  });
  afterEach(async () => {
    await writer?.beforeApplicationShutdown();
    for (const rules of captureRules.splice(0)) rules.onModuleDestroy();
    for (const listener of notifications.splice(0)) await listener.onApplicationShutdown();
    for (const publisher of publishers.splice(0)) await publisher.end();
    await db.close();
  });

  /** The capture rules as one replica holds them, listening on its own connection. */
  const replicaRules = (enabled = true) => {
    const publisher = testPool({ connectionString: db.database.url, max: 1 });
    publishers.push(publisher);
    const listener = new PgNotifications(config, PgPools.of(publisher));
    notifications.push(listener);
    const rules = new CaptureRules(db.pool, listener, options(1000, enabled), config);
    captureRules.push(rules);
    rules.onApplicationBootstrap();
    return rules;
  };
  const start = (maxBuffered?: number, captures = replicaRules()) => {
    writer = new TurnLogWriter(journal, db.pool, options(maxBuffered), captures, config);
    writer.onApplicationBootstrap();
  };
  /** Another replica's batch under way: a connection of its own, in a transaction holding the turn log's lock. */
  const otherReplicaBatch = async (): Promise<PoolClient> => {
    const otherReplica = testPool({ connectionString: db.database.url, max: 1 });
    publishers.push(otherReplica);
    const inFlight = await otherReplica.connect();
    try {
      await inFlight.query('BEGIN');
      await inFlight.query('SELECT pg_advisory_xact_lock($1)', [TURN_LOG_LOCK]);
      return inFlight;
    } catch (error: unknown) {
      inFlight.release();
      throw error;
    }
  };
  /** Counts the batch INSERTs the writer sends from now on. */
  const watchInserts = (): { readonly count: number } => {
    const watched = { count: 0 };
    const run = db.pool.run.bind(db.pool);
    jest.spyOn(db.pool, 'run').mockImplementation((statement, ...rest) => {
      if (statement.name === 'turn_log_insert') watched.count += 1;
      return run(statement, ...rest);
    });
    return watched;
  };
  const rows = () =>
    db.query<{ request_id: string; trace_id: string | null; outcome: string; duration_ms: number; budget_ms: number }>(
      'SELECT request_id, trace_id, outcome, duration_ms, budget_ms FROM turn_log ORDER BY id',
    );

  it('writes what the journal announced, in one batch, field for field', async () => {
    start();
    journal.record(turn(1));
    journal.record(turn(2, { outcome: 'replayed', traceId: 'a'.repeat(32) }));
    expect(await rows()).toEqual([]);
    await writer.flush();
    expect(await rows()).toEqual([
      { request_id: 'req-1', trace_id: null, outcome: 'fulfilled', duration_ms: 12.5, budget_ms: 5000 },
      { request_id: 'req-2', trace_id: 'a'.repeat(32), outcome: 'replayed', duration_ms: 12.5, budget_ms: 5000 },
    ]);
  });

  it("draws a batch's ids only after another replica's batch in flight has committed: ids in commit order", async () => {
    start();
    // Another replica's batch, part-way: it holds the turn log's lock and has drawn its id, not yet committed.
    const inFlight = await otherReplicaBatch();
    let flushed: Promise<void> | undefined;
    try {
      const [{ id: otherId }] = (
        await inFlight.query<{ id: string }>(
          `INSERT INTO turn_log (at, request_id, platform, intent, caller_id, outcome, duration_ms, budget_ms)
           VALUES (now(), 'other-replica', 'dialogflow-es', 'GetAccountBalance', 'bot', 'fulfilled', 1, 5000)
           RETURNING id::text AS id`,
        )
      ).rows;
      journal.record(turn(1));
      flushed = writer.flush();
      // This replica's batch waits for the lock. Before, it drew a higher id and committed first: a console that
      // had seen it and resumed after it would never get the other replica's turn.
      await eventually(async () => {
        const waiting = await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = $1`,
          [TURN_LOG_LOCK],
        );
        expect(Number(waiting[0].n)).toBe(1);
      });
      expect(await rows()).toEqual([]);
      await inFlight.query('COMMIT');
      await flushed;
      const ids = await db.query<{ id: string; request_id: string }>(
        'SELECT id::text AS id, request_id FROM turn_log ORDER BY id',
      );
      expect(ids.map((row) => row.request_id)).toEqual(['other-replica', 'req-1']);
      expect(BigInt(ids[1].id)).toBeGreaterThan(BigInt(otherId));
    } finally {
      inFlight.release();
      await flushed;
    }
  });

  it("writes a flush's turns in one statement; turns announced during its write wait for the next flush", async () => {
    start();
    const statements = watchInserts();
    // Another replica's batch holds the turn log's lock, so this replica's write stays in flight for a while.
    const inFlight = await otherReplicaBatch();
    let flushed: Promise<void> | undefined;
    try {
      journal.record(turn(1));
      flushed = writer.flush();
      await eventually(() => expect(statements.count).toBe(1));
      journal.record(turn(2));
      journal.record(turn(3));
      await inFlight.query('COMMIT');
      await flushed;
      // Before, the write went straight on with turns 2 and 3: under load, a statement every few turns.
      expect((await rows()).map((row) => row.request_id)).toEqual(['req-1']);
      expect(statements.count).toBe(1);
      await writer.flush();
      expect((await rows()).map((row) => row.request_id)).toEqual(['req-1', 'req-2', 'req-3']);
      expect(statements.count).toBe(2);
    } finally {
      inFlight.release();
      await flushed;
    }
  });

  it('writes a backlog larger than a batch in one flush, a batch per statement', async () => {
    start(TURN_LOG_BATCH_SIZE * 3);
    const statements = watchInserts();
    for (let n = 0; n < TURN_LOG_BATCH_SIZE * 2 + 5; n += 1) journal.record(turn(n));
    await writer.flush();
    expect(statements.count).toBe(3);
    expect(await db.query('SELECT count(*)::int AS n FROM turn_log')).toEqual([{ n: TURN_LOG_BATCH_SIZE * 2 + 5 }]);
  });

  it('keeps turns PostgreSQL refused and writes them, once each, when it takes them again', async () => {
    start();
    await db.query('ALTER TABLE turn_log RENAME TO turn_log_away');
    for (let n = 0; n < 5; n++) journal.record(turn(n));
    await writer.flush();
    journal.record(turn(5));
    await db.query('ALTER TABLE turn_log_away RENAME TO turn_log');
    await writer.flush();
    expect((await rows()).map((row) => row.request_id)).toEqual(['req-0', 'req-1', 'req-2', 'req-3', 'req-4', 'req-5']);
    await writer.flush();
    expect(await rows()).toHaveLength(6);
  });

  it('drops turns beyond its buffer while PostgreSQL is away, keeping the first ones for when it is back', async () => {
    start(100);
    await db.query('ALTER TABLE turn_log RENAME TO turn_log_away');
    for (let n = 0; n < 150; n++) journal.record(turn(n));
    await writer.flush();
    await db.query('ALTER TABLE turn_log_away RENAME TO turn_log');
    await writer.flush();
    const written = (await rows()).map((row) => row.request_id);
    expect(written).toHaveLength(100);
    expect(written[99]).toBe('req-99');
  });

  it('cuts an oversized value to its column instead of failing the batch', async () => {
    start();
    journal.record(turn(1, { intent: 'I'.repeat(500), requestId: 'r'.repeat(400) }));
    journal.record(turn(2));
    await writer.flush();
    expect(await rows()).toHaveLength(2);
  });

  it('stores a NUL in a turn as U+FFFD instead of failing the batch (PostgreSQL text and jsonb hold none)', async () => {
    start();
    const request = { parameters: { account_type: 'check\u0000ing' } };
    journal.record(turn(1, { intent: 'Get\u0000Balance', requestId: 'req\u00001', callerId: 'b\u0000t', request }));
    journal.record(turn(2));
    await writer.flush();
    expect(
      await db.query<{ request_id: string; intent: string; caller_id: string; request: unknown }>(
        `SELECT request_id, intent, caller_id, c.request
           FROM turn_log t LEFT JOIN turn_captures c ON c.turn_id = t.id ORDER BY t.id`,
      ),
    ).toEqual([
      {
        request_id: 'req\uFFFD1',
        intent: 'Get\uFFFDBalance',
        caller_id: 'b\uFFFDt',
        request: { parameters: { account_type: 'check\uFFFDing' } },
      },
      { request_id: 'req-2', intent: 'GetAccountBalance', caller_id: 'bot', request: null },
    ]);
  });

  it('purges turns older than the retention, in bounded batches', async () => {
    start();
    await db.query(
      `INSERT INTO turn_log (at, request_id, platform, intent, caller_id, outcome, duration_ms, budget_ms)
       SELECT now() - interval '25 hours', 'old-' || n, 'generic', 'X', 'bot', 'fulfilled', 1, 5000
         FROM generate_series(1, 3) AS n`,
    );
    journal.record({ ...turn(1), at: Date.now() });
    await writer.flush();
    expect(await writer.purgeExpired(2)).toBe(2);
    expect(await writer.purgeExpired(2)).toBe(1);
    expect(await writer.purgeExpired(2)).toBe(0);
    expect((await rows()).map((row) => row.request_id)).toEqual(['req-1']);
  });

  it('stops listening when disabled', () => {
    writer = new TurnLogWriter(journal, db.pool, options(1000, false), replicaRules(false), config);
    writer.onApplicationBootstrap();
    expect(journal.listened).toBe(false);
  });

  it('lists turns newest first by id as a number (9 before 10 only when 9 is newer), and pages and tails alike', async () => {
    start();
    for (let n = 0; n < 12; n++) journal.record(turn(n));
    await writer.flush();
    const queries = new TurnLogQueries(db.pool);
    const ids = (await queries.search({ limit: 5 })).map((row) => Number(row.id));
    const all = (await db.query<{ id: string }>('SELECT id FROM turn_log ORDER BY id DESC')).map((row) =>
      Number(row.id),
    );
    expect(ids).toEqual(all.slice(0, 5));
    const next = await queries.search({ limit: 5, beforeId: String(ids[4]) });
    expect(next.map((row) => Number(row.id))).toEqual(all.slice(5, 10));
    const oldestFirst = [...all].reverse();
    expect((await queries.after(String(oldestFirst[0]), 100)).map((row) => Number(row.id))).toEqual(
      oldestFirst.slice(1),
    );
    expect((await queries.range(String(oldestFirst[0]), String(oldestFirst[11]))).map((row) => Number(row.id))).toEqual(
      oldestFirst,
    );
  });

  describe('the live tail (TurnTail)', () => {
    const proxies: FaultProxy[] = [];
    afterEach(async () => {
      for (const proxy of proxies.splice(0)) await proxy.close();
    });

    /** `url` through a proxy that adds `delayMs` to every chunk. */
    const slowed = async (url: string, delayMs: number): Promise<string> => {
      const proxy = await FaultProxy.start(Number(new URL(url).port || 5432));
      proxies.push(proxy);
      proxy.slow(delayMs);
      const through = new URL(url);
      through.hostname = '127.0.0.1';
      through.port = String(proxy.port);
      return through.toString();
    };

    /** A tail whose listening connection and whose reads each take the path given; what it hands out. */
    const tail = (listenerUrl: string, readsUrl: string) => {
      const publisher = testPool({ connectionString: db.database.url, max: 1 });
      const reads = testPool({ connectionString: readsUrl, max: 2 }); // reset when the test's proxy closes
      publishers.push(publisher, reads);
      const listener = new PgNotifications(
        { ...config, database: { ...config.database, url: listenerUrl } } as AppConfig,
        PgPools.of(publisher),
      );
      notifications.push(listener);
      const seen: string[] = [];
      new TurnTail(listener, new TurnLogQueries(new DatabasePool(PgPools.of(reads)))).subscribe((rows) =>
        seen.push(...rows.map((row) => row.requestId)),
      );
      return seen;
    };

    const write = async (requestId: string, n: number) => {
      journal.record(turn(n, { requestId }));
      await writer.flush();
    };

    it('hands out the turns committed while its LISTEN was on its way (a slow listening connection)', async () => {
      start();
      await write('before-the-tail', 1);
      const seen = tail(await slowed(db.database.url, 150), db.database.url);
      await sleep(300); // where the tail starts is read at once; its LISTEN takes about a second
      await write('while-listening-starts', 2);
      await eventually(() => expect(seen).toEqual(['while-listening-starts']));
      await write('after', 3);
      await eventually(() => expect(seen).toEqual(['while-listening-starts', 'after']));
    });

    it('never hands out turns from before it started, also when its LISTEN takes effect before it knows where that was', async () => {
      start();
      await write('before-the-tail', 1);
      const seen = tail(db.database.url, await slowed(db.database.url, 150));
      // Its LISTEN takes effect at once (PostgreSQL may then hand it the queued notification of the turn above);
      // where it started takes a second to read.
      await sleep(2000);
      await write('after', 2);
      await eventually(() => expect(seen).toEqual(['after']));
    });
    it('hands out, after a gap, a batch with lower ids that committed just after a higher one it had seen', async () => {
      start();
      await write('before-the-tail', 1);
      const listenerPath = await FaultProxy.start(Number(new URL(db.database.url).port || 5432));
      proxies.push(listenerPath);
      const through = new URL(db.database.url);
      through.hostname = '127.0.0.1';
      through.port = String(listenerPath.port);
      const seen = tail(through.toString(), db.database.url);
      await sleep(1000);
      await write('first', 2);
      await eventually(() => expect(seen).toEqual(['first']));
      // Another replica's batch: its ids are drawn when its INSERT starts, its announcement goes out when it commits.
      const otherReplica = testPool({ connectionString: db.database.url, max: 1 });
      publishers.push(otherReplica);
      const slowBatch = await otherReplica.connect();
      try {
        await slowBatch.query('BEGIN');
        const [{ id }] = (
          await slowBatch.query<{ id: string }>(
            `INSERT INTO turn_log (at, request_id, platform, intent, caller_id, outcome, duration_ms, budget_ms)
             VALUES (now(), 'committed-late', 'dialogflow-es', 'GetAccountBalance', 'bot', 'fulfilled', 1, 5000)
             RETURNING id::text AS id`,
          )
        ).rows;
        await slowBatch.query("SELECT pg_notify('wf_turn_log', $1)", [`${id}-${id}`]);
        await write('higher-ids', 3);
        await eventually(() => expect(seen).toEqual(['first', 'higher-ids']));
        // The listening connection breaks, and the slow batch commits while it is gone: its announcement is lost.
        listenerPath.reset();
        await sleep(200);
        await slowBatch.query('COMMIT');
      } finally {
        slowBatch.release();
      }
      listenerPath.heal();
      await eventually(() => expect(seen).toEqual(['first', 'higher-ids', 'committed-late']), 10_000);
      await write('after', 4);
      await eventually(() => expect(seen).toEqual(['first', 'higher-ids', 'committed-late', 'after']));
    });
  });

  describe('request capture', () => {
    const esBody = {
      responseId: 'r-1',
      queryResult: {
        queryText: 'my card number is 4111111111111111',
        parameters: { account_type: 'checking', user_id: '12345' },
        intent: { displayName: 'GetAccountBalance' },
      },
    };
    const reply = { status: 200, json: JSON.stringify({ fulfillmentText: 'Your balance is $1,234.56' }) };
    const captured = () =>
      db.query<{ request_id: string; path: string; request: unknown; response_status: number; response: unknown }>(
        `SELECT l.request_id, c.path, c.request, c.response_status, c.response
           FROM turn_captures c JOIN turn_log l ON l.id = c.turn_id ORDER BY l.id`,
      );

    it('keeps the bodies of the turns a rule in force matches, redacted, with their turns in the same batch', async () => {
      const rules = replicaRules();
      start(1000, rules);
      expect(journal.wantsBodies('dialogflow-es', 'bot')).toBe(false);
      await rules.create({ platform: 'dialogflow-es', minutes: 5, createdBy: 'alice' });
      expect(journal.wantsBodies('dialogflow-es', 'bot')).toBe(true);
      expect(journal.wantsBodies('generic', 'bot')).toBe(false);

      journal.record(turn(1, { request: esBody, reply }));
      journal.record(turn(2));
      journal.record(turn(3, { platform: 'generic', request: { text: 'secret' } }));
      await writer.flush();

      expect(await rows()).toHaveLength(3);
      expect(await captured()).toEqual([
        {
          request_id: 'req-1',
          path: '/v1/webhooks/dialogflow-es',
          request: {
            responseId: REDACTED,
            queryResult: {
              queryText: REDACTED,
              parameters: { account_type: 'checking', user_id: REDACTED },
              intent: { displayName: 'GetAccountBalance' },
            },
          },
          response_status: 200,
          response: { fulfillmentText: REDACTED },
        },
        {
          request_id: 'req-3',
          path: '/v1/webhooks/generic',
          request: { text: REDACTED },
          response_status: null,
          response: null,
        },
      ]);
    });

    it("tells every replica about a rule another replica made or ended (LISTEN/NOTIFY), and honours a rule's end", async () => {
      const here = replicaRules();
      const there = replicaRules();
      const rule = await here.create({ callerId: 'bot', minutes: 1, createdBy: 'alice' });
      await eventually(() => expect(there.matches('rasa', 'bot', Date.now())).toBe(true));
      expect(there.matches('rasa', 'other-bot', Date.now())).toBe(false);
      expect(there.matches('rasa', 'bot', Date.now() + 61_000)).toBe(false);

      expect(await here.end(rule.id)).toMatchObject({ id: rule.id, callerId: 'bot' });
      expect(await here.end(rule.id)).toBeUndefined();
      await eventually(() => expect(there.matches('rasa', 'bot', Date.now())).toBe(false));
      expect(await there.inForce()).toEqual([]);
    });

    it('keeps a body still too big once redacted (its keys alone) as a note instead', async () => {
      const rules = replicaRules();
      start(1000, rules);
      await rules.create({ platform: 'generic', minutes: 5, createdBy: 'alice' });
      journal.record(
        turn(1, {
          platform: 'generic',
          request: Object.fromEntries(Array.from({ length: 5000 }, (_, n) => [`field_${n}`, n])),
        }),
      );
      await writer.flush();
      expect((await captured())[0].request).toEqual({ truncated: true, bytes: expect.any(Number) });
    });

    it('keeps ended rules as a record for as long as the audit trail keeps its events (AUDIT_RETENTION_DAYS)', async () => {
      const rules = replicaRules();
      const recent = await rules.create({ platform: 'generic', minutes: 5, createdBy: 'alice' });
      await rules.end(recent.id);
      await db.query(
        `INSERT INTO capture_rules (platform, expires_at, created_by, created_at)
         VALUES ('rasa', now() - interval '31 days', 'bob', now() - interval '31 days')`,
      );
      expect(await rules.purgeExpired(10)).toBe(1);
      expect(await rules.purgeExpired(10)).toBe(0);
      expect((await db.query<{ id: string }>('SELECT id::text AS id FROM capture_rules')).map((row) => row.id)).toEqual(
        [recent.id],
      );
    });

    it('purges captured bodies with their turns', async () => {
      const rules = replicaRules();
      start(1000, rules);
      await rules.create({ platform: 'generic', minutes: 5, createdBy: 'alice' });
      journal.record(turn(1, { platform: 'generic', at: Date.now() - 25 * 3_600_000, request: { a: 1 } }));
      await writer.flush();
      expect(await captured()).toHaveLength(1);
      // The turn, and its minute and quarter of an hour in the Intents view's rollup.
      expect(await writer.purgeExpired(10)).toBe(3);
      expect(await captured()).toEqual([]);
    });
  });
});
