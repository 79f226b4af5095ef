import { ConsoleOptions } from '../../src/console/console.options';
import { TurnLogWriter } from '../../src/console/turn-log/turn-log.writer';
import { type FinishedTurn, TurnJournal } from '../../src/observability/turn-journal';
import { mediumDatabase, MediumDatabase } from './support/medium-database';

const options = (maxBuffered = 1000, enabled = true): ConsoleOptions => ({
  turnLog: { enabled, retentionHours: 24, flushMs: 60_000, maxBuffered },
  sessionSecret: Buffer.alloc(32),
  sessionTtlMs: 3_600_000,
  secureCookies: false,
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

  beforeEach(async () => {
    db = await mediumDatabase();
    journal = new TurnJournal();
  });
  afterEach(async () => {
    await writer?.beforeApplicationShutdown();
    await db.close();
  });

  const start = (maxBuffered?: number) => {
    writer = new TurnLogWriter(journal, db.pool, options(maxBuffered));
    writer.onApplicationBootstrap();
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

  it('drops (and counts) turns beyond its buffer while PostgreSQL is away, never blocking the announcer', async () => {
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
    writer = new TurnLogWriter(journal, db.pool, options(1000, false));
    writer.onApplicationBootstrap();
    expect(journal.listened).toBe(false);
  });
});
