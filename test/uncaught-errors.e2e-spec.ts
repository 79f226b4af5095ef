/**
 * An error nothing caught, in a real service process: it ends with exit code 1 and the error as one JSON line
 * (level fatal, with its stack and origin), instead of Node's bare stack trace on stderr.
 * The error is planted by a preloaded module on SIGUSR2 (test/support/stray-error-preload.js): a bug outside any
 * request, which the product cannot be asked to produce.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCAL_DEV_AUTH, README_REQUEST } from './support/dialogflow-es.fixtures';
import { sendRaw } from './support/raw-http';
import { freePort, startService } from './support/service-process';
import { createTestDatabase, type TestDatabase } from './support/test-database';

const PRELOAD = join(__dirname, 'support', 'stray-error-preload.js');
/** Far longer than the exit takes (the lines written, at most a second). */
const EXIT_BOUND_MS = 20_000;

describe('an error nothing caught', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  it.each([
    ['a callback that throws', 'throw', 'uncaughtException', 'Uncaught exception: a callback that threw; exiting'],
    [
      'a promise nobody awaited',
      'reject',
      'unhandledRejection',
      'Unhandled promise rejection: a promise nobody awaited; exiting',
    ],
  ])(
    '%s: one fatal JSON line, then exit code 1',
    async (_name, kind, origin, message) => {
      const port = await freePort();
      const service = startService({
        DATABASE_URL: database.url,
        PORT: String(port),
        LOG_LEVEL: 'info',
        NODE_OPTIONS: `--require ${PRELOAD}`,
        STRAY_ERROR: kind,
      });
      try {
        await service.waitFor(/"msg":"Listening/);
        const answer = await sendRaw(`http://127.0.0.1:${port}`, '/v1/webhooks/dialogflow-es', {
          headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json', 'X-Request-Id': 'before-the-error' },
          body: JSON.stringify(README_REQUEST),
        });
        expect(answer.status).toBe(200);
        // Its access line is logged once the response is written out, which the client may see first.
        await service.waitFor(/"request_id":"before-the-error"/);

        service.child.kill('SIGUSR2');
        const exited = await Promise.race([
          service.exited,
          sleep(EXIT_BOUND_MS, undefined, { ref: false }).then(() => 'still running'),
        ]);
        expect(exited).toEqual({ code: 1, signal: null });

        // Every line is JSON: nothing printed by Node itself.
        const lines = service
          .output()
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        const fatal = lines.filter((line) => line.level === 'fatal');
        expect(fatal).toEqual([
          expect.objectContaining({
            context: 'Main',
            msg: message,
            origin,
            err: expect.objectContaining({ type: 'Error', stack: expect.stringContaining('stray-error-preload.js') }),
          }),
        ]);
      } finally {
        if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
        await service.exited;
      }
    },
    90_000,
  );
});
