/**
 * The turn log's last flush at shutdown, against a PostgreSQL that stops answering (a black hole: the connection
 * stays open, nothing comes back). The flush waited for the write without end, and held the application's close
 * until the process was forced out (exit 1, the other final flushes and the pools' closes skipped). Now it gives up
 * after TURN_LOG_SHUTDOWN_FLUSH_MS and says how many turns were not written.
 */
import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'pg';
import { CaptureRules } from '../../src/console/capture/capture-rules';
import { ConsoleOptions } from '../../src/console/console.options';
import { TURN_LOG_SHUTDOWN_FLUSH_MS, TurnLogWriter } from '../../src/console/turn-log/turn-log.writer';
import type { AppConfig } from '../../src/config';
import { DatabasePool } from '../../src/database/database-pool';
import { PgNotifications } from '../../src/database/pg-notifications';
import { PgPools } from '../../src/database/pg-pools';
import { type FinishedTurn, TurnJournal } from '../../src/observability/turn-journal';
import { FaultProxy } from '../faults/support/fault-proxy';
import { mediumDatabase, type MediumDatabase } from './support/medium-database';
import { testPool } from './support/test-pool';

const options: ConsoleOptions = {
  turnLog: { enabled: true, retentionHours: 24, flushMs: 60_000, maxBuffered: 1000 },
  sessionSecret: Buffer.alloc(32),
  sessionTtlMs: 3_600_000,
  secureCookies: false,
  publicOrigin: 'http://127.0.0.1:9465',
};

const turn = (n: number): FinishedTurn => ({
  at: Date.parse('2026-12-02T10:00:00Z') + n,
  requestId: `req-${n}`,
  platform: 'dialogflow-es',
  intent: 'GetAccountBalance',
  callerId: 'bot',
  outcome: 'fulfilled',
  durationMs: 12.5,
  budgetMs: 5000,
});

describe('turn log flush at shutdown, PostgreSQL not answering', () => {
  let db: MediumDatabase;
  let proxy: FaultProxy;
  let proxied: Pool;
  let listener: PgNotifications;
  let rules: CaptureRules | undefined;

  beforeEach(async () => {
    db = await mediumDatabase();
    proxy = await FaultProxy.start(Number(new URL(db.database.url).port || 5432));
    const through = new URL(db.database.url);
    through.hostname = '127.0.0.1';
    through.port = String(proxy.port);
    proxied = testPool({ connectionString: through.toString(), max: 2 });
  });
  afterEach(async () => {
    await proxy.close();
    await proxied.end().catch(() => undefined);
    // A reload timer left behind would fire in this worker's later files, on an ended pool.
    rules?.onModuleDestroy();
    await listener?.onApplicationShutdown();
    await db.close();
  });

  it('gives up after TURN_LOG_SHUTDOWN_FLUSH_MS, says how many turns were lost, and lets the close go on', async () => {
    const config = {
      database: { url: db.database.url, statementTimeoutMs: 3000 },
      observability: { parameterAllowlist: [] },
      audit: { retentionDays: 30 },
    } as unknown as AppConfig;
    // The capture rules listen on the real database: only the turn log's own writes go through the black hole.
    const publisher = testPool({ connectionString: db.database.url, max: 1 });
    listener = new PgNotifications(config, PgPools.of(publisher));
    rules = new CaptureRules(db.pool, listener, options, config);
    rules.onApplicationBootstrap();
    const journal = new TurnJournal();
    const writer = new TurnLogWriter(journal, new DatabasePool(PgPools.of(proxied)), options, rules, config);
    writer.onApplicationBootstrap();
    journal.record(turn(1));
    await writer.flush();
    const warnings: string[] = [];
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
    try {
      proxy.blackHole();
      journal.record(turn(2));
      journal.record(turn(3));
      const flushed = writer.beforeApplicationShutdown().then(() => 'flushed' as const);
      // Far longer than the bound; before, the flush was still waiting on the database here (and for ever).
      const waited = await Promise.race([
        flushed,
        sleep(TURN_LOG_SHUTDOWN_FLUSH_MS + 5_000, undefined, { ref: false }).then(() => 'waiting'),
      ]);
      expect(waited).toBe('flushed');
      expect(warnings).toContainEqual(
        expect.stringMatching(/^2 turn\(s\) not written to the turn log: the database did not answer in time/),
      );
    } finally {
      warn.mockRestore();
      await publisher.end();
    }
    const written = await db.query<{ request_id: string }>('SELECT request_id FROM turn_log ORDER BY id');
    expect(written.map((row) => row.request_id)).toEqual(['req-1']);
  }, 30_000);
});
