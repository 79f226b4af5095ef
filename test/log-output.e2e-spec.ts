/**
 * The service's output read by something that stops reading it (a stalled log agent, a paused pipe), or written
 * to a full disk: the service goes on answering, and a SIGTERM, or an error nothing caught, still ends it. Before,
 * the library's synchronous flush of the lines still waiting retried the full pipe or the failed write forever, so
 * the process never ended, SHUTDOWN_GRACE_MS's forced exit included; and a failed write other than a closed pipe
 * was thrown. Real processes whose standard output is a pipe this test stops reading, or /dev/full.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCAL_DEV_AUTH, README_REQUEST } from './support/dialogflow-es.fixtures';
import { sendRaw } from './support/raw-http';
import {
  exitWithin,
  freePort,
  killIfRunning,
  killService,
  type ServiceProcess,
  startService,
} from './support/service-process';
import { createTestDatabase, type TestDatabase } from './support/test-database';

const ES = '/v1/webhooks/dialogflow-es';
const DIST = join(__dirname, '..', 'dist');
const PRELOAD = join(__dirname, 'support', 'process-faults-preload.js');
/** Access lines of ~600 bytes each: several times what the kernel holds for a reader (a few hundred KB). */
const REQUESTS = 1_500;
const CONCURRENCY = 10;
/** Far longer than a stop takes (under a second, plus at most a second given to the last lines). */
const STOP_BOUND_MS = 30_000;

/** Answers to `count` README turns sent `CONCURRENCY` at a time, counted by status. */
async function readmeTurns(baseUrl: string, count: number): Promise<Record<number, number>> {
  const body = JSON.stringify(README_REQUEST);
  const statuses: Record<number, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        next += 1;
        // A new connection each (agent: false): none is left open for the stop to wait on.
        const answer = await sendRaw(baseUrl, ES, {
          headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json' },
          body,
        });
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      }
    }),
  );
  return statuses;
}

/** The environment of a service answering every request: no rate limit, no overload guard (a starved CI machine). */
const serviceEnv = (databaseUrl: string, port: number): Record<string, string> => ({
  DATABASE_URL: databaseUrl,
  PORT: String(port),
  LOG_LEVEL: 'info',
  SHUTDOWN_DELAY_MS: '0',
  SHUTDOWN_GRACE_MS: '5000',
  THROTTLE_LIMIT: '100000',
  OVERLOAD_DELAY_MS: '0',
});

describe('a reader of the output that stops reading', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let baseUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    service = startService(serviceEnv(database.url, port));
    await service.waitFor(/"msg":"Listening/);
  }, 90_000);

  afterAll(async () => {
    await killService(service);
    await database?.drop();
  });

  it('answers while its lines wait, and a SIGTERM still ends it, with exit code 0', async () => {
    service.child.stdout?.pause();
    expect(await readmeTurns(baseUrl, REQUESTS)).toEqual({ 200: REQUESTS });

    service.child.kill('SIGTERM');
    const stopped = await exitWithin(service.exited, STOP_BOUND_MS);
    expect(stopped).toEqual({ code: 0, signal: null });

    // What reached the pipe before the end is whole JSON lines, but for the last, which may have been cut where
    // the rest was given up.
    service.child.stdout?.resume();
    await new Promise((resolve) => service.child.stdout?.once('close', resolve));
    const lines = service.output().split('\n');
    lines.pop();
    expect(lines.length).toBeGreaterThan(100);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(lines.filter((line) => line.includes(`"path":"${ES}"`)).length).toBeGreaterThan(50);
  }, 120_000);

  it('a pipe nobody reads from the first line on: the exit still comes, with the lines given up', async () => {
    // The service's own logging and exit, without the rest of it: here nothing else has opened standard output
    // (loading the application does), so the pipe is as the process got it, blocking.
    const script = `
      const { rootLogger } = require(${JSON.stringify(join(DIST, 'observability', 'logging.js'))});
      const { exitAfterLogs } = require(${JSON.stringify(join(DIST, 'lifecycle', 'exit.js'))});
      const logger = rootLogger('info');
      for (let n = 0; n < 4000; n += 1) logger.info('x'.repeat(400));
      setTimeout(() => exitAfterLogs(0), 200);
    `;
    // Standard output is never read (left paused).
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      const stopped = await exitWithin(exited, STOP_BOUND_MS);
      expect({ stopped, stderr }).toEqual({ stopped: { code: 0, signal: null }, stderr: '' });
    } finally {
      killIfRunning(child);
      child.stdout.destroy();
    }
  }, 60_000);
});

describe('an output that cannot be written', () => {
  let database: TestDatabase;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
  }, 90_000);

  afterEach(async () => {
    await killService(service);
    service = undefined;
  });

  afterAll(async () => {
    await database?.drop();
  });

  /** Until GET /health/live answers 200; fails if the process ends first. */
  async function untilLive(baseUrl: string, running: ServiceProcess): Promise<void> {
    for (let attempt = 0; attempt < 600; attempt += 1) {
      if (running.child.exitCode !== null || running.child.signalCode !== null) {
        throw new Error(`the service ended before it was live:\n${running.output()}`);
      }
      const live = await sendRaw(baseUrl, '/health/live', { method: 'GET' }).catch(() => undefined);
      if (live?.status === 200) return;
      await sleep(100);
    }
    throw new Error(`the service was not live after a minute:\n${running.output()}`);
  }

  it('a full disk under the output (/dev/full): the service starts, answers, and stops with exit code 0', async () => {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const full = openSync('/dev/full', 'w');
    try {
      service = startService(serviceEnv(database.url, port), undefined, full);
    } finally {
      closeSync(full);
    }
    // Before, its first write's ENOSPC was thrown, and the fatal line about it retried the write forever: the
    // process never listened and ignored SIGTERM.
    await untilLive(baseUrl, service);
    expect(await readmeTurns(baseUrl, 300)).toEqual({ 200: 300 });
    service.child.kill('SIGTERM');
    expect(await exitWithin(service.exited, STOP_BOUND_MS)).toEqual({ code: 0, signal: null });
    // Standard error, all that is left to read: nothing (no error text, no stack).
    expect(service.output()).toBe('');
  }, 120_000);

  it('writes that fail for a while (a file size limit): the lines wait, and every one is written once they succeed', async () => {
    // The service's own logging and exit in a process whose file size limit (RLIMIT_FSIZE, soft) stops its output
    // file at 64 KB: writes beyond fail with EFBIG, as on a full disk, until the limit is raised from outside.
    const dir = mkdtempSync(join(tmpdir(), 'log-output-'));
    const path = join(dir, 'out.log');
    const limit = 64 * 1024;
    const script = `
      const { rootLogger, droppedLogLines } = require(${JSON.stringify(join(DIST, 'observability', 'logging.js'))});
      const { exitAfterLogs } = require(${JSON.stringify(join(DIST, 'lifecycle', 'exit.js'))});
      const logger = rootLogger('info');
      const log = (from, to) => { for (let n = from; n < to; n += 1) logger.info('line ' + n + ' ' + 'x'.repeat(100)); };
      log(0, 2000);
      process.stderr.write('logged\\n');
      process.on('SIGUSR2', () => {
        log(2000, 2100);
        process.stderr.write('dropped ' + droppedLogLines() + '\\n');
        exitAfterLogs(0);
      });
      setInterval(() => undefined, 1000);
    `;
    const out = openSync(path, 'w');
    // prlimit sets the limit and runs node in its place (same process).
    const child = spawn('prlimit', [`--fsize=${limit}:`, process.execPath, '-e', script], {
      stdio: ['ignore', out, 'pipe'],
    });
    closeSync(out);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      for (let wait = 0; wait < 300 && !stderr.includes('logged'); wait += 1) await sleep(100);
      expect(stderr).toBe('logged\n');
      // Writes are tried and fail (a batch at once, then every 200 ms); before, the first failure was thrown.
      await sleep(1_000);
      expect(statSync(path).size).toBe(limit);
      expect(child.exitCode).toBeNull();

      execFileSync('prlimit', ['--pid', String(child.pid), '--fsize=unlimited:']);
      child.kill('SIGUSR2');
      expect(await exitWithin(exited, STOP_BOUND_MS)).toEqual({ code: 0, signal: null });
      expect(stderr).toBe('logged\ndropped 0\n');
      const lines = readFileSync(path, 'utf8').trim().split('\n');
      expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(
        Array.from({ length: 2100 }, (_, n) => `line ${n} ${'x'.repeat(100)}`),
      );
    } finally {
      killIfRunning(child);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('an error nothing caught while nobody reads the output: the process still ends, with exit code 1', async () => {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    // The preload throws from a callback on SIGUSR2 (test/support/process-faults-preload.js).
    service = startService({ ...serviceEnv(database.url, port), NODE_OPTIONS: `--require ${PRELOAD}`, PLANT: 'throw' });
    await service.waitFor(/"msg":"Listening/);
    service.child.stdout?.pause();
    expect(await readmeTurns(baseUrl, 1_000)).toEqual({ 200: 1_000 });
    // Before, the fatal line made pino flush synchronously, retrying the full pipe forever.
    service.child.kill('SIGUSR2');
    expect(await exitWithin(service.exited, STOP_BOUND_MS)).toEqual({ code: 1, signal: null });
    service.child.stdout?.destroy();
  }, 120_000);
});
