/**
 * What Node reports about the process itself, in a real service process: an error nothing caught ends it with exit
 * code 1 and the error as one JSON line (level fatal, with its stack and origin); a process warning is a JSON line
 * at level warn and the service goes on. Neither is Node's bare text on stderr. They are planted by a preloaded
 * module on SIGUSR2 (test/support/process-faults-preload.js): bugs outside any request, which the product cannot
 * be asked to produce.
 */
import { join } from 'node:path';
import { LOCAL_DEV_AUTH, README_REQUEST } from './support/dialogflow-es.fixtures';
import { sendRaw } from './support/raw-http';
import { exitWithin, freePort, killService, type ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, type TestDatabase } from './support/test-database';

const PRELOAD = join(__dirname, 'support', 'process-faults-preload.js');
const ES = '/v1/webhooks/dialogflow-es';
/** Far longer than the exit takes (the lines written, at most a second). */
const EXIT_BOUND_MS = 20_000;

describe('faults of the process outside any request', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  /** A service with the preload, listening, having answered one turn whose access line is out. */
  async function serviceWith(plant: string): Promise<{ service: ServiceProcess; port: number }> {
    const port = await freePort();
    const service = startService({
      DATABASE_URL: database.url,
      PORT: String(port),
      LOG_LEVEL: 'info',
      NODE_OPTIONS: `--require ${PRELOAD}`,
      PLANT: plant,
    });
    await service.waitFor(/"msg":"Listening/);
    const answer = await turn(port, 'before-the-fault');
    expect(answer.status).toBe(200);
    // Its access line is logged once the response is written out, which the client may see first.
    await service.waitFor(/"request_id":"before-the-fault"/);
    return { service, port };
  }

  const turn = (port: number, requestId: string) =>
    sendRaw(`http://127.0.0.1:${port}`, ES, {
      headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json', 'X-Request-Id': requestId },
      body: JSON.stringify(README_REQUEST),
    });

  /** Every line of the output (standard output and error) parsed as JSON: nothing printed by Node itself. */
  const jsonLines = (service: ServiceProcess): Record<string, unknown>[] =>
    service
      .output()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it.each([
    ['a callback that throws', 'throw', 'uncaughtException', 'Uncaught exception: a callback that threw; exiting'],
    [
      'a promise nobody awaited',
      'reject',
      'unhandledRejection',
      'Unhandled promise rejection: a promise nobody awaited; exiting',
    ],
  ])(
    'an error nothing caught (%s): one fatal JSON line, then exit code 1',
    async (_name, plant, origin, message) => {
      const { service } = await serviceWith(plant);
      try {
        service.child.kill('SIGUSR2');
        const exited = await exitWithin(service.exited, EXIT_BOUND_MS);
        expect(exited).toEqual({ code: 1, signal: null });
        const fatal = jsonLines(service).filter((line) => line.level === 'fatal');
        expect(fatal).toEqual([
          expect.objectContaining({
            context: 'Main',
            msg: message,
            origin,
            err: expect.objectContaining({
              type: 'Error',
              stack: expect.stringContaining('process-faults-preload.js'),
            }),
          }),
        ]);
      } finally {
        await killService(service);
      }
    },
    90_000,
  );

  it('a process warning: one JSON line at warn, and the service goes on answering', async () => {
    const { service, port } = await serviceWith('warning');
    try {
      service.child.kill('SIGUSR2');
      await service.waitFor(/TestLeakWarning/);
      expect((await turn(port, 'after-the-warning')).status).toBe(200);
      await service.waitFor(/"request_id":"after-the-warning"/);
      const warnings = jsonLines(service).filter((line) => line.context === 'Node');
      expect(warnings).toEqual([
        expect.objectContaining({
          level: 'warn',
          msg: 'TestLeakWarning: 11 listeners added to a test emitter',
          warning: expect.objectContaining({
            name: 'TestLeakWarning',
            message: '11 listeners added to a test emitter',
            stack: expect.stringContaining('process-faults-preload.js'),
          }),
        }),
      ]);
    } finally {
      await killService(service);
    }
  }, 90_000);
});
