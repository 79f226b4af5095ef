import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually } from './support/eventually';
import { sendGenericTurn, transferCounts, transferTurnBody } from './support/generic-turns';
import { cleanEnv, freePort, killService, type ServiceProcess, startService } from './support/service-process';
import { describeWithStreamingReplication, StreamingPair } from './support/streaming-replica';

const DATABASE_CLI = join(__dirname, '..', 'dist', 'cli', 'database.cli.js');

/**
 * DATABASE_URL listing a cluster's members, as libpq takes it, with no address that follows the primary (Patroni
 * without a virtual IP, CloudNativePG's pods by name): `target_session_attrs=read-write` sends every connection to
 * the member that takes writes, wherever it is in the list, and after a failover to the one promoted.
 */
describeWithStreamingReplication()('DATABASE_URL listing several servers (a real primary and its standby)', () => {
  let pair: StreamingPair;
  let service: ServiceProcess;
  let baseUrl: string;
  let databaseUrl: string;

  beforeAll(async () => {
    pair = await StreamingPair.start(await freePort(), await freePort());
    // The standby first: the service must pass over it.
    const hosts = [pair.replica.port, pair.primary.port].map((port) => `127.0.0.1:${port}`).join(',');
    databaseUrl = `postgres://postgres@${hosts}/postgres?target_session_attrs=read-write`;
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    service = startService({
      NODE_ENV: 'development',
      DATABASE_URL: databaseUrl,
      SEED_DEMO_DATA: 'true',
      PORT: String(port),
      LOG_LEVEL: 'info',
      DB_STATEMENT_TIMEOUT_MS: '1500',
      DB_PROBE_INTERVAL_MS: '250',
    });
    await service.waitFor(/"msg":"Listening/, 90_000);
  }, 180_000);

  afterAll(async () => {
    await killService(service);
    await pair?.close();
  }, 60_000);

  const transfer = async (): Promise<{ requestId: string; status: number; text: string }> => {
    const requestId = `multi-host-${randomUUID()}`;
    const response = await sendGenericTurn(baseUrl, transferTurnBody(requestId, '12345', 100n));
    const text = response.json<{ text?: string }>().text ?? '';
    return { requestId, status: response.status, text };
  };
  const serviceSessions = async (which: 'primary' | 'replica'): Promise<string[]> =>
    (
      await pair.query<{ application_name: string }>(
        which,
        `SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'webhook-fulfillment%'
          ORDER BY 1`,
      )
    ).map((row) => row.application_name);

  it('starts on the server that takes writes, passing over the standby listed first, and says so', async () => {
    expect(service.output()).toMatch(
      new RegExp(
        `Connections go to 127\\.0\\.0\\.1:${pair.primary.port} \\(target_session_attrs=read-write, of 2 listed\\)` +
          `(; passed over: 127\\.0\\.0\\.1:${pair.replica.port} takes no writes \\([^)]*\\))?"`,
      ),
    );
    const done = await transfer();
    expect(done).toMatchObject({ status: 200, text: expect.stringMatching(/^Done: I moved \$1\.00/) });
    // Every connection of the service (pool, probe, notifications, job queue) is on the primary, none on the standby.
    await eventually(async () =>
      expect(await serviceSessions('primary')).toEqual(
        expect.arrayContaining([
          'webhook-fulfillment',
          'webhook-fulfillment-probe',
          'webhook-fulfillment-notifications',
          'webhook-fulfillment-jobs',
        ]),
      ),
    );
    expect(await serviceSessions('replica')).toEqual([]);
  });

  it('the database command (the chart migration Job) migrates the server that takes writes', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [DATABASE_CLI, 'migrate'], {
      env: cleanEnv({ DATABASE_URL: databaseUrl }),
    });
    expect(stdout).toMatch(/Applied 0 migration\(s\)/);
    expect(stdout).toMatch(/Job queue schema is up to date/);
  }, 60_000);

  it('after a failover, with no address moved, finds the promoted standby by itself and loses nothing', async () => {
    pair.primary.signal('SIGKILL');
    await pair.primary.waitForExit();
    await pair.promote();
    // The bot retries a turn until it is answered: once the service has found the new primary, it is done.
    const requestIds: string[] = [];
    await eventually(async () => {
      const attempt = await transfer();
      requestIds.push(attempt.requestId);
      expect(attempt).toMatchObject({ status: 200, text: expect.stringMatching(/^Done: I moved/) });
    }, 30_000);
    // The promoted standby, and the log says so (the line may reach the pipe after the reply).
    await eventually(() =>
      expect(service.output()).toMatch(
        new RegExp(`"level":"warn".*"Connections now go to 127\\.0\\.0\\.1:${pair.replica.port} \\(`),
      ),
    );
    // No turn wrote twice, and the one answered done wrote once (one answered in the interim may finish later).
    const counts = await transferCounts(pair.url('replica'), requestIds);
    expect(counts.filter((count) => count > 1)).toEqual([]);
    expect(counts.at(-1)).toBe(1);
    const ready = await fetch(`${baseUrl}/health/ready`);
    expect(ready.status).toBe(200);
  }, 60_000);
});
