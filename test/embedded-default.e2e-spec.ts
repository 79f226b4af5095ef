import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LOCAL_DEV_AUTH, README_REQUEST } from './support/dialogflow-es.fixtures';
import { freePort, ServiceProcess, startService } from './support/service-process';

/**
 * The zero-configuration path: no DATABASE_URL, so the service starts its own embedded PostgreSQL,
 * migrates, seeds and answers the README request; SIGTERM stops both cleanly.
 */
describe('npm start on the embedded default (real process, embedded PostgreSQL)', () => {
  const parent = mkdtempSync(join(tmpdir(), 'wf-embedded-'));
  // Open like a project folder (mkdtemp makes it private): as root, PostgreSQL runs as the postgres user and
  // keeps its data here only if that user can enter (otherwise it moves it, which test/newcomer covers).
  chmodSync(parent, 0o755);
  const dataDir = join(parent, 'pg');
  let service: ServiceProcess;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    service = startService({
      PORT: String(port),
      EMBEDDED_PG_DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(await freePort()),
    });
    await service.waitFor(/Listening on http:\/\/127\.0\.0\.1:\d+ - TLS is off/, 120_000);
  }, 130_000);

  afterAll(async () => {
    // Stopped as a user stops it (a SIGKILL would leave its PostgreSQL running), when a test did not get to it.
    if (service.child.exitCode === null) {
      service.child.kill('SIGTERM');
      const killer = setTimeout(() => service.child.kill('SIGKILL'), 20_000);
      await service.exited;
      clearTimeout(killer);
    }
    rmSync(parent, { recursive: true, force: true });
  }, 30_000);

  it('logs that the embedded database started and demo data was seeded', () => {
    expect(service.output()).toMatch(/DATABASE_URL is not set: starting embedded PostgreSQL/);
    expect(service.output()).toMatch(/Seeded demo data: banking/);
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
  });

  it('answers the README curl example, run exactly as printed, with the seeded balance', async () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const example = /```sh\n(curl -s http:\/\/127\.0\.0\.1:8080\/v1\/webhooks\/dialogflow-es[\s\S]*?)```/.exec(
      readme,
    )?.[1];
    expect(example).toBeDefined();
    const command = (example as string).replace('127.0.0.1:8080', `127.0.0.1:${port}`);
    const { stdout } = await promisify(execFile)('bash', ['-c', command]);
    const body = JSON.parse(stdout) as {
      fulfillmentText: string;
      outputContexts: { name: string; lifespanCount: number }[];
    };
    expect(body.fulfillmentText).toBe(
      'Your checking account balance is $3,247.82. Would you like to see recent transactions?',
    );
    expect(body.outputContexts[0]).toMatchObject({
      name: 'projects/project-id/agent/sessions/session-id/contexts/account-info',
      lifespanCount: 5,
    });
  });

  it('answers the same request from a plain HTTP client', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/v1/webhooks/dialogflow-es`, {
      method: 'POST',
      headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify(README_REQUEST),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { source: string }).source).toBe('banking-api');
  });

  it('stops the service and its PostgreSQL cleanly on SIGTERM', async () => {
    service.child.kill('SIGTERM');
    const { code } = await service.exited;
    expect(code).toBe(0);
    expect(service.output()).toMatch(/Stopped cleanly/);
    // PostgreSQL removes its pid file only after a clean shutdown.
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
  });

  it('drains on Ctrl-C with its database still there: the interrupt reaches the whole group, PostgreSQL included', async () => {
    // Before, the postmaster was in the terminal's process group: Ctrl-C stopped it at once, and the turns of the
    // drain were answered "can't reach our systems" and their turn-log rows lost.
    const servicePort = await freePort();
    const again = startService(
      {
        PORT: String(servicePort),
        EMBEDDED_PG_DATA_DIR: dataDir,
        EMBEDDED_PG_PORT: String(await freePort()),
        SHUTDOWN_DELAY_MS: '3000',
        LOG_LEVEL: 'info',
      },
      undefined,
      undefined,
      { detached: true },
    );
    try {
      await again.waitFor(/Listening on/, 60_000);
      process.kill(-(again.child.pid as number), 'SIGINT');
      await again.waitFor(/SIGINT received: closing/, 10_000);
      const response = await fetch(`http://127.0.0.1:${servicePort}/v1/webhooks/dialogflow-es`, {
        method: 'POST',
        headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json' },
        body: JSON.stringify(README_REQUEST),
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { fulfillmentText: string }).fulfillmentText).toMatch(/\$3,247\.82/);
      const { code } = await again.exited;
      expect(code).toBe(0);
      expect(again.output()).toMatch(/Stopped cleanly/);
      expect(again.output()).not.toMatch(/unreachable|shutting down/);
      expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
    } finally {
      if (again.child.exitCode === null) process.kill(-(again.child.pid as number), 'SIGKILL');
    }
  }, 60_000);

  it('stops its PostgreSQL too on a hang-up (SIGHUP: the terminal that ran it closed)', async () => {
    // Before, Node's default ended the process at once, without a line, and left PostgreSQL running.
    const again = startService({
      PORT: String(await freePort()),
      EMBEDDED_PG_DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(await freePort()),
    });
    try {
      await again.waitFor(/Listening on/, 60_000);
      again.child.kill('SIGHUP');
      const { code, signal } = await again.exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(again.output()).toMatch(/SIGHUP received: closing/);
      expect(again.output()).toMatch(/Stopped cleanly/);
      expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
    } finally {
      if (again.child.exitCode === null) again.child.kill('SIGKILL');
    }
  }, 60_000);

  it.each([
    ['SIGTERM', 143, 1],
    ['SIGHUP', 129, 1],
    // A repeat before the first is handled (kill twice; Ctrl-C that npm forwards too) ended the process at once.
    ['SIGTERM', 143, 2],
  ] as const)(
    'stops its PostgreSQL too when %s comes during start-up (%#), before it listens',
    async (name, exitCode, times) => {
      const starting = startService({
        PORT: String(await freePort()),
        EMBEDDED_PG_DATA_DIR: dataDir,
        EMBEDDED_PG_PORT: String(await freePort()),
      });
      try {
        await starting.waitFor(/starting embedded PostgreSQL/, 60_000);
        for (let sent = 0; sent < times; sent++) starting.child.kill(name);
        const { code, signal } = await starting.exited;
        expect({ code, signal }).toEqual({ code: exitCode, signal: null });
        expect(starting.output()).toMatch(new RegExp(`${name} received during start-up: stopping`));
        expect(starting.output()).not.toMatch(/Listening on/);
        expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
      } finally {
        if (starting.child.exitCode === null) starting.child.kill('SIGKILL');
      }
    },
    60_000,
  );
});
