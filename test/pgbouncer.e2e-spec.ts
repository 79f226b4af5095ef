import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { sendCancelRequest } from '../src/database/cancel-request';
import { accountBalances, sendGenericTurn, transferTurnBody } from './support/generic-turns';
import { describeWithPgBouncer, type OwnedPgBouncer, startPgBouncer } from './support/pgbouncer';
import { cleanEnv, freePort, killService, type ServiceProcess, startService } from './support/service-process';
import { untilDefined } from './support/eventually';
import { createTestDatabase, queryTestDatabase, type TestDatabase } from './support/test-database';

const CLI = join(__dirname, '..', 'dist', 'cli', 'database.cli.js');
const DEGRADED_TEXT = 'Our systems are out of reach for a moment (PgBouncer test).';
const CUSTOMER = '12345';

/**
 * The service behind a PgBouncer in session pooling, with PgBouncer's default settings. pg sent
 * `statement_timeout` as a startup parameter, which PgBouncer refuses ("unsupported startup parameter"), so the
 * service could not start; one told to ignore it dropped the timeout silently. The settings now go by `SET` on
 * each new connection: the service starts, answers, moves money once, and a statement stuck behind a lock is
 * still cancelled by PostgreSQL in time.
 */
describeWithPgBouncer()('behind PgBouncer (session pooling, real processes)', () => {
  let database: TestDatabase;
  let bouncer: OwnedPgBouncer;
  let service: ServiceProcess;
  let baseUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    bouncer = await startPgBouncer(database.url, 'session');
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    service = startService({
      DATABASE_URL: bouncer.url,
      PORT: String(port),
      LOG_LEVEL: 'info',
      DB_STATEMENT_TIMEOUT_MS: '400',
      DEGRADED_TEXT,
    });
    await service.waitFor(/"msg":"Listening/);
  }, 90_000);

  afterAll(async () => {
    await killService(service);
    await bouncer?.stop();
    await database?.drop();
  });

  it('answers turns and moves money once, a retry answered from the stored reply', async () => {
    const before = await accountBalances(database.url, CUSTOMER);
    const balance = await sendGenericTurn(baseUrl, {
      requestId: 'pgbouncer-balance',
      sessionId: 'pgbouncer',
      intent: 'GetAccountBalance',
      parameters: { user_id: CUSTOMER, account_type: 'checking' },
    });
    expect(balance.json()).toMatchObject({ outcome: 'fulfilled', text: expect.stringContaining('checking account') });

    for (let attempt = 0; attempt < 2; attempt += 1) {
      const transfer = await sendGenericTurn(baseUrl, transferTurnBody('pgbouncer-transfer', CUSTOMER, 250n));
      expect(transfer.json()).toMatchObject({ outcome: 'fulfilled' });
    }
    expect(await accountBalances(database.url, CUSTOMER)).toEqual({
      checking: before.checking - 250n,
      savings: before.savings + 250n,
    });
  });

  it("applies DB_STATEMENT_TIMEOUT_MS: a transfer stuck behind another session's lock gets the busy reply", async () => {
    const holder = new Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(
        `SELECT a.id FROM accounts a JOIN customers c ON c.id = a.customer_id WHERE c.customer_number = $1 FOR UPDATE`,
        [CUSTOMER],
      );
      const stuck = await sendGenericTurn(baseUrl, transferTurnBody('pgbouncer-stuck', CUSTOMER, 100n));
      expect(stuck.json()).toMatchObject({ outcome: 'failed', text: DEGRADED_TEXT });
      await service.waitFor(
        /answered busy: PostgreSQL cancelled a statement .*57014 canceling statement due to statement timeout/,
      );
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });
});

/**
 * A PgBouncer in transaction pooling hands the service's connections whichever server session is free. Before, the
 * service started, then failed turns with `prepared statement "…" already exists`, and the migration lock (a
 * session's) guarded nothing. Now the start, and the migration command, refuse it before writing anything.
 */
describeWithPgBouncer()('behind PgBouncer in transaction pooling (real processes)', () => {
  let database: TestDatabase;
  let bouncer: OwnedPgBouncer;

  beforeAll(async () => {
    database = await createTestDatabase();
    bouncer = await startPgBouncer(database.url, 'transaction');
  }, 60_000);

  afterAll(async () => {
    await bouncer?.stop();
    await database?.drop();
  });

  const REFUSAL =
    /PostgreSQL sessions are shared between the service's connections \(backend \d+ answered (two of them at once|one of them, then backend \d+ did)\): a pooler in transaction mode, such as PgBouncer with pool_mode = transaction, is in front of PostgreSQL\. .*point DATABASE_URL at PostgreSQL, or at a pooler in session mode/;

  it("cancels a running statement through PgBouncer, by the key PgBouncer gave (not a server backend's pid)", async () => {
    const client = new Client({ connectionString: bouncer.url });
    await client.connect();
    try {
      const sleeping = client.query('SELECT pg_sleep(10)');
      // Cancelled once it runs on a server connection (seen on the server itself).
      await untilDefined(async () => {
        const rows = await queryTestDatabase(
          database.url,
          `SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(10)' AND state = 'active'
             AND datname = current_database()`,
        );
        return rows.length > 0 ? true : undefined;
      });
      await sendCancelRequest(client);
      await expect(sleeping).rejects.toMatchObject({ code: '57014' });
      // The session goes on: only the statement was cancelled.
      expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });

  it('the service refuses to start, in one line that names the pooler', async () => {
    const starting = startService({ DATABASE_URL: bouncer.url, PORT: String(await freePort()), LOG_LEVEL: 'info' });
    try {
      const { code } = await starting.exited;
      expect(code).toBe(1);
      const notJson = starting
        .output()
        .trim()
        .split('\n')
        .filter((line) => !line.startsWith('{'));
      expect(notJson).toEqual([expect.stringMatching(/^Start-up failed: /)]);
      expect(notJson[0]).toMatch(REFUSAL);
    } finally {
      await killService(starting);
    }
  }, 60_000);

  it('the migration command refuses it too (its lock is a session lock)', async () => {
    const migrating = promisify(execFile)(process.execPath, [CLI, 'migrate'], {
      env: cleanEnv({ DATABASE_URL: bouncer.url }),
    });
    await expect(migrating).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(REFUSAL) });
  }, 60_000);

  it('PostgreSQL itself, and PgBouncer in session pooling, pass the same check, with a pool of one too', async () => {
    const session = await startPgBouncer(database.url, 'session');
    try {
      for (const url of [database.url, session.url]) {
        const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'show'], {
          env: cleanEnv({ DATABASE_URL: url, DB_POOL_SIZE: '1' }),
        });
        expect(stdout).toContain('The schema is up to date.');
        const service = startService({ DATABASE_URL: url, PORT: String(await freePort()), DB_POOL_SIZE: '1' });
        try {
          await service.waitFor(/"msg":"Listening/);
        } finally {
          await killService(service);
        }
      }
    } finally {
      await session.stop();
    }
  }, 60_000);
});
