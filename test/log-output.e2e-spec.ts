/**
 * The service's output read by something that stops reading it (a stalled log agent, a paused pipe): the
 * service goes on answering, and a SIGTERM still ends it. Before, the exit's flush of the lines still waiting
 * retried the full pipe forever, so the process never ended, SHUTDOWN_GRACE_MS's forced exit included.
 * A real process whose standard output is a pipe this test stops reading.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { LOCAL_DEV_AUTH, README_REQUEST } from './support/dialogflow-es.fixtures';
import { sendRaw } from './support/raw-http';
import { exitWithin, freePort, killIfRunning, type ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, type TestDatabase } from './support/test-database';

const ES = '/v1/webhooks/dialogflow-es';
const DIST = join(__dirname, '..', 'dist');
/** Access lines of ~600 bytes each: several times what the kernel holds for a reader (a few hundred KB). */
const REQUESTS = 1_500;
const CONCURRENCY = 10;
/** Far longer than a stop takes (under a second, plus at most a second given to the last lines). */
const STOP_BOUND_MS = 30_000;

describe('a reader of the output that stops reading', () => {
  let database: TestDatabase;
  let service: ServiceProcess;
  let baseUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    service = startService({
      DATABASE_URL: database.url,
      PORT: String(port),
      LOG_LEVEL: 'info',
      SHUTDOWN_DELAY_MS: '0',
      SHUTDOWN_GRACE_MS: '5000',
      // Every request is answered: neither the rate limit nor, on a starved CI machine, the overload guard refuses one.
      THROTTLE_LIMIT: '100000',
      OVERLOAD_DELAY_MS: '0',
    });
    await service.waitFor(/"msg":"Listening/);
  }, 90_000);

  afterAll(async () => {
    if (service) killIfRunning(service.child);
    await service?.exited;
    await database?.drop();
  });

  it('answers while its lines wait, and a SIGTERM still ends it, with exit code 0', async () => {
    service.child.stdout?.pause();
    const body = JSON.stringify(README_REQUEST);
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < REQUESTS) {
          next += 1;
          // A new connection each (agent: false): none is left open for the stop to wait on.
          const answer = await sendRaw(baseUrl, ES, {
            headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json' },
            body,
          });
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        }
      }),
    );
    expect(Object.fromEntries(statuses)).toEqual({ 200: REQUESTS });

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
