import { execFile } from 'node:child_process';
import { Agent, IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { grpcServices, openGrpcClient, unary } from './support/grpc-client';
import { eventually } from './support/eventually';
import { accountBalances, genericTurnKey, transferTurnBody } from './support/generic-turns';
import { OwnedPostgres } from './support/owned-postgres';
import { cleanEnv, freePort, killService, ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, queryTestDatabase, TestDatabase } from './support/test-database';

/**
 * What happens to turns, probes and money when PostgreSQL goes away and comes back, and when the service is
 * told to stop in the middle of traffic. Everything here is a real process: the service (`node dist/main.js`)
 * and, for the outage, a PostgreSQL server the test owns and stops and starts itself.
 */

const PATH = '/v1/webhooks/generic';
/** Set through DEGRADED_TEXT, so the reply is known to come from the degraded path and its configuration. */
const DEGRADED_TEXT = 'Our systems are out of reach for a moment (resilience test).';
const CUSTOMER = '12345';
const AMOUNT_MINOR = 100n; // $1.00 per transfer
/** A correctness bound on the degraded path (it must not wait on the dead database), not a benchmark. */
const DEGRADED_BOUND_MS = 2000;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  ms: number;
}

interface SendOptions {
  method?: 'GET' | 'POST';
  body?: unknown;
  agent?: Agent | false;
  timeoutMs?: number;
}

/** One HTTP request to the service on 127.0.0.1; rejects on a socket error or when no reply comes in time. */
function send(port: number, path: string, options: SendOptions = {}): Promise<Reply> {
  const started = performance.now();
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? (payload ? 'POST' : 'GET'),
        agent: options.agent ?? false,
        headers: payload ? { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json' } : {},
        timeout: options.timeoutMs ?? 5000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', reject);
        res.on('end', () => {
          if (!res.complete) reject(new Error('response ended before it was complete'));
          else resolve({ status: res.statusCode ?? 0, headers: res.headers, text, ms: performance.now() - started });
        });
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('no reply in time'), { code: 'TIMEOUT' })));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * A webhook POST whose headers and first half of the body go out now and the rest on `finish()`: a request
 * that is in flight (not idle) for as long as the test wants.
 */
function startSlowRequest(
  port: number,
  body: unknown,
  agent: Agent,
): { headersSent: Promise<void>; finish(): Promise<Reply> } {
  const payload = Buffer.from(JSON.stringify(body));
  const half = Math.floor(payload.length / 2);
  const started = performance.now();
  let reply: Promise<Reply> | undefined;
  const req = httpRequest({
    host: '127.0.0.1',
    port,
    path: PATH,
    method: 'POST',
    agent,
    headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json', 'Content-Length': payload.length },
  });
  const response = new Promise<Reply>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, ms: performance.now() - started }),
      );
    });
  });
  const headersSent = new Promise<void>((resolve, reject) => {
    req.once('error', reject);
    req.write(payload.subarray(0, half), (error) => (error ? reject(error) : resolve()));
  });
  return {
    headersSent,
    finish: () =>
      (reply ??= new Promise<void>((resolve) => req.end(payload.subarray(half), resolve)).then(() => response)),
  };
}

function json<T = Record<string, unknown>>(reply: Reply): T {
  return JSON.parse(reply.text) as T;
}

/** Resolves once the service answers /health/live; fails at once if the process exits first. */
async function serving(service: ServiceProcess, port: number): Promise<void> {
  const exited = service.exited.then(() => {
    throw new Error(`service exited before it served:\n${service.output()}`);
  });
  const live = eventually(async () => expect((await send(port, '/health/live')).status).toBe(200), 60_000, 100);
  await Promise.race([live, exited]);
}

/** The built service on `port`, with the shutdown's delay and grace period, serving once this resolves. */
async function drainingService(
  database: TestDatabase,
  port: number,
  delayMs: number,
  graceMs: number,
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  const service = startService({
    NODE_ENV: 'development',
    DATABASE_URL: database.url,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    SHUTDOWN_DELAY_MS: String(delayMs),
    SHUTDOWN_GRACE_MS: String(graceMs),
    ...env,
  });
  await serving(service, port);
  return service;
}

/** grpc.health.v1 Check of the whole server, as a gRPC load balancer asks it. */
async function grpcHealth(port: number): Promise<string> {
  const client = openGrpcClient(port, undefined, grpcServices.grpc.health.v1.Health);
  try {
    return (await unary<{ status: string }>(client, 'Check', { service: '' })).status;
  } finally {
    client.close();
  }
}

describe('resilience (real processes, real PostgreSQL)', () => {
  describe('PostgreSQL outage and recovery (a PostgreSQL the test owns)', () => {
    let pg: OwnedPostgres;
    let databaseUrl: string;
    /** DEGRADED_MODE=reply (the default): 200 with the degraded text. */
    let replyService: ServiceProcess;
    let replyPort: number;
    let grpcPorts: Record<'reply' | '503', number>;
    /** DEGRADED_MODE=503: 503 with Retry-After. */
    let unavailableService: ServiceProcess;
    let unavailablePort: number;
    let start: { checking: bigint; savings: bigint };

    /** Turns answered with a success, by request id: the money moved once for each. */
    const succeeded: string[] = [];
    /** Turns answered degraded (200 failed, or 503): no money moved, to be re-sent after recovery. */
    const degraded: { requestId: string; port: number }[] = [];
    let turnCount = 0;

    const transferTurn = (requestId: string) => transferTurnBody(requestId, CUSTOMER, AMOUNT_MINOR);
    const nextRequestId = (): string => `resilience-${process.pid}-${++turnCount}`;

    const balances = () => accountBalances(databaseUrl, CUSTOMER);

    /** Rows in `transfers` per idempotency key of the given turns. */
    async function transferRows(requestIds: string[]): Promise<Record<string, number>> {
      const rows = await queryTestDatabase<{ idempotency_key: string; n: string }>(
        databaseUrl,
        'SELECT idempotency_key, count(*) AS n FROM transfers WHERE idempotency_key = ANY($1) GROUP BY idempotency_key',
        [requestIds.map((id) => genericTurnKey(id))],
      );
      const counts = new Map(rows.map((row) => [row.idempotency_key, Number(row.n)]));
      return Object.fromEntries(requestIds.map((id) => [id, counts.get(genericTurnKey(id)) ?? 0]));
    }

    async function transferSucceeds(port: number, requestId: string): Promise<Reply> {
      const reply = await send(port, PATH, { body: transferTurn(requestId) });
      expect(reply.status).toBe(200);
      expect(json(reply)).toMatchObject({
        requestId,
        outcome: 'fulfilled',
        text: expect.stringMatching(/^Done: I moved \$1\.00 from your checking account to your savings account\./),
      });
      return reply;
    }

    beforeAll(async () => {
      pg = await OwnedPostgres.create(await freePort());
      await pg.start();
      databaseUrl = await pg.createDatabase('resilience');
      const cli = join(__dirname, '..', 'dist', 'cli', 'database.cli.js');
      await promisify(execFile)(process.execPath, [cli, 'seed'], { env: cleanEnv({ DATABASE_URL: databaseUrl }) });
      start = await balances();

      [replyPort, unavailablePort] = [await freePort(), await freePort()];
      grpcPorts = { reply: await freePort(), '503': await freePort() };
      const env = (port: number, mode: 'reply' | '503') => ({
        NODE_ENV: 'development',
        DATABASE_URL: databaseUrl,
        PORT: String(port),
        GRPC_ENABLED: 'true',
        GRPC_PORT: String(grpcPorts[mode]),
        LOG_LEVEL: 'warn',
        DB_PROBE_INTERVAL_MS: '200',
        DEGRADED_MODE: mode,
        DEGRADED_TEXT,
      });
      replyService = startService(env(replyPort, 'reply'));
      unavailableService = startService(env(unavailablePort, '503'));
      await Promise.all([serving(replyService, replyPort), serving(unavailableService, unavailablePort)]);
    }, 90_000);

    afterAll(async () => {
      await Promise.all([killService(replyService), killService(unavailableService)]);
      await pg?.destroy();
    });

    it('moves the money while PostgreSQL is up', async () => {
      expect(start.checking).toBeGreaterThan(100n * AMOUNT_MINOR);
      for (const port of [replyPort, replyPort, replyPort, unavailablePort]) {
        const requestId = nextRequestId();
        await transferSucceeds(port, requestId);
        succeeded.push(requestId);
      }
      for (const port of [replyPort, unavailablePort]) expect((await send(port, '/health/ready')).status).toBe(200);
    });

    it('answers every turn at once with the degraded reply while PostgreSQL is down', async () => {
      await pg.stop();

      for (let i = 0; i < 4; i++) {
        const requestId = nextRequestId();
        const reply = await send(replyPort, PATH, { body: transferTurn(requestId) });
        expect(reply.ms).toBeLessThan(DEGRADED_BOUND_MS);
        expect(reply.status).toBe(200);
        expect(json(reply)).toMatchObject({ requestId, outcome: 'failed', text: DEGRADED_TEXT, failed: true });
        degraded.push({ requestId, port: replyPort });
      }
    });

    it('answers 503 with Retry-After during the outage when DEGRADED_MODE=503', async () => {
      // The first turn finds the outage through its own connection error, the second through the known state.
      for (let i = 0; i < 2; i++) {
        const requestId = nextRequestId();
        const reply = await send(unavailablePort, PATH, { body: transferTurn(requestId) });
        expect(reply.ms).toBeLessThan(DEGRADED_BOUND_MS);
        expect(reply.status).toBe(503);
        expect(reply.headers['retry-after']).toBe('5');
        expect(reply.headers['content-type']).toMatch(/^application\/json/);
        expect(json(reply)).toMatchObject({ statusCode: 503, error: 'UNAVAILABLE' });
        degraded.push({ requestId, port: unavailablePort });
      }
    });

    it('stays ready during the outage with DEGRADED_MODE=reply (the polite reply must reach the bot), saying why', async () => {
      expect((await send(replyPort, '/health/live')).status).toBe(200);
      const ready = await send(replyPort, '/health/ready');
      expect(ready.ms).toBeLessThan(DEGRADED_BOUND_MS);
      expect({ status: ready.status, body: json(ready) }).toMatchObject({
        status: 200,
        body: {
          status: 'ok',
          info: {
            database: {
              status: 'up',
              reachable: false,
              message: 'PostgreSQL is unreachable: turns get the degraded reply',
            },
          },
        },
      });
      expect(await grpcHealth(grpcPorts.reply)).toBe('SERVING');
    });

    it('is not ready (503, database down) but stays live during the outage with DEGRADED_MODE=503', async () => {
      expect((await send(unavailablePort, '/health/live')).status).toBe(200);
      const ready = await send(unavailablePort, '/health/ready');
      expect(ready.ms).toBeLessThan(DEGRADED_BOUND_MS);
      expect({ status: ready.status, body: json(ready) }).toMatchObject({
        status: 503,
        body: { status: 'error', error: { database: { status: 'down', message: 'PostgreSQL is unreachable' } } },
      });
      expect(await grpcHealth(grpcPorts['503'])).toBe('NOT_SERVING');
    });

    it('is ready again within 10 s of PostgreSQL coming back, and turns succeed again', async () => {
      await pg.start();
      const restartedAt = Date.now();
      // The reply-mode service was ready all along: wait until its probe has seen the database back, as the
      // 503-mode service's readiness says for its own.
      for (const port of [replyPort, unavailablePort]) {
        await eventually(
          async () => {
            const ready = await send(port, '/health/ready');
            expect({ status: ready.status, body: json(ready) }).toMatchObject({
              status: 200,
              body: { info: { database: { status: 'up' } } },
            });
            expect(json(ready)).not.toHaveProperty('info.database.reachable');
          },
          10_000,
          100,
        );
      }
      expect(Date.now() - restartedAt).toBeLessThan(10_000);
      for (const port of [replyPort, unavailablePort, replyPort]) {
        const requestId = nextRequestId();
        await transferSucceeds(port, requestId);
        succeeded.push(requestId);
      }
    });

    it('wrote each successful turn exactly once and no degraded one', async () => {
      const degradedIds = degraded.map((turn) => turn.requestId);
      expect(Object.values(await transferRows(succeeded))).toEqual(succeeded.map(() => 1));
      expect(Object.values(await transferRows(degradedIds))).toEqual(degradedIds.map(() => 0));
      const [{ n }] = await queryTestDatabase<{ n: string }>(databaseUrl, 'SELECT count(*) AS n FROM transfers');
      expect(Number(n)).toBe(succeeded.length);
      const moved = BigInt(succeeded.length) * AMOUNT_MINOR;
      expect(await balances()).toEqual({ checking: start.checking - moved, savings: start.savings + moved });
    });

    it('moves the money of each degraded turn exactly once when it is sent again', async () => {
      for (const { requestId, port } of degraded) {
        const reply = await transferSucceeds(port, requestId);
        expect(reply.headers['idempotent-replayed']).toBeUndefined();
      }
      // A second delivery of any turn, degraded before or not, replays the stored reply and moves nothing.
      const all = [...succeeded, ...degraded.map((turn) => turn.requestId)];
      for (const requestId of [succeeded[0], degraded[0].requestId, degraded[degraded.length - 1].requestId]) {
        const reply = await transferSucceeds(replyPort, requestId);
        expect(reply.headers['idempotent-replayed']).toBe('true');
      }

      expect(Object.values(await transferRows(all))).toEqual(all.map(() => 1));
      const [{ n }] = await queryTestDatabase<{ n: string }>(databaseUrl, 'SELECT count(*) AS n FROM transfers');
      expect(Number(n)).toBe(all.length);
      const moved = BigInt(all.length) * AMOUNT_MINOR;
      expect(await balances()).toEqual({ checking: start.checking - moved, savings: start.savings + moved });
    });
  });

  describe('SIGTERM during load', () => {
    const CLIENTS = 8;
    const MAX_REQUESTS_PER_CLIENT = 400;
    const SHUTDOWN_DELAY_MS = 1000;
    const SHUTDOWN_GRACE_MS = 10_000;
    let database: TestDatabase;
    let service: ServiceProcess;
    let port: number;

    interface Attempt {
      startedAt: number;
      endedAt?: number;
      status?: number;
      complete?: boolean;
      error?: string;
    }

    /** What one run of load + SIGTERM observed; times are performance.now() values. */
    interface LoadRun {
      attempts: Attempt[];
      killedAt: number;
      /** The first readiness answer that was not 200, as the load balancer saw it. */
      notReady?: { at: number; status: number; body: unknown };
      /** The first readiness poll refused at the TCP level: the listener had closed. */
      refusedAt?: number;
      /** Whether the service process was still running (draining) when the refusal was seen. */
      aliveWhenRefused?: boolean;
      /** A webhook request started once the listener had closed. */
      late: { status?: number; code?: string; ms: number };
      /** A request whose body was still arriving when the listener closed: it must still get its whole reply. */
      straddling: Reply & { at: number };
      exit: { code: number | null; signal: NodeJS.Signals | null; at: number };
    }
    let run: LoadRun | undefined;

    const balanceTurn = (requestId: string) => ({
      requestId,
      sessionId: 'resilience-load',
      intent: 'GetAccountBalance',
      stage: 'fulfillment',
      parameters: { user_id: CUSTOMER, account_type: 'checking' },
    });

    /**
     * CLIENTS keep-alive clients send turns in a loop; a watcher polls readiness every 50 ms and, like a load
     * balancer, stops new requests at the first answer that is not 200. SIGTERM is sent once the load runs.
     */
    async function loadAndTerminate(): Promise<LoadRun> {
      const attempts: Attempt[] = [];
      let stopStarting = false;
      let notReady: LoadRun['notReady'];
      let refusedAt: number | undefined;
      let aliveWhenRefused: boolean | undefined;

      const client = async (agent: Agent): Promise<void> => {
        for (let n = 0; n < MAX_REQUESTS_PER_CLIENT && !stopStarting; n++) {
          const attempt: Attempt = { startedAt: performance.now() };
          attempts.push(attempt);
          try {
            const reply = await send(port, PATH, { body: balanceTurn(`load-${attempts.length}`), agent });
            attempt.status = reply.status;
            const body = json<{ outcome?: string; text?: string }>(reply);
            attempt.complete = body.outcome === 'fulfilled' && /\$3,247\.82/.test(body.text ?? '');
          } catch (error: unknown) {
            attempt.error = (error as { code?: string }).code ?? String(error);
          }
          attempt.endedAt = performance.now();
        }
      };

      const watcher = async (): Promise<void> => {
        const until = performance.now() + 20_000;
        try {
          while (refusedAt === undefined && performance.now() < until) {
            try {
              const reply = await send(port, '/health/ready', { timeoutMs: 2000 });
              if (reply.status !== 200 && !notReady) {
                notReady = { at: performance.now(), status: reply.status, body: json(reply) };
                stopStarting = true;
              }
            } catch (error: unknown) {
              const code = (error as { code?: string }).code;
              // A poll that connects just as the listener closes can be reset instead; the next one is refused.
              if (code === 'ECONNRESET') continue;
              if (code !== 'ECONNREFUSED') throw error;
              refusedAt = performance.now();
              aliveWhenRefused = service.child.exitCode === null && service.child.signalCode === null;
            }
            await sleep(50);
          }
        } finally {
          stopStarting = true;
        }
      };

      const agents = Array.from({ length: CLIENTS }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
      const watching = watcher();
      const clients = Promise.all(agents.map(client));
      await eventually(
        () => expect(attempts.filter((a) => a.endedAt !== undefined).length).toBeGreaterThan(80),
        10_000,
        20,
      );

      // Started before SIGTERM, its body completes only after the listener has closed: it keeps the process
      // draining, so the refusal below is the closed listener's and not a dead process's.
      const straddlingAgent = new Agent({ keepAlive: true, maxSockets: 1 });
      const straddling = startSlowRequest(port, balanceTurn('load-straddling'), straddlingAgent);
      await straddling.headersSent;

      const killedAt = performance.now();
      if (!service.child.kill('SIGTERM')) throw new Error('could not signal the service');
      const exit = service.exited.then((exited) => ({ ...exited, at: performance.now() }));
      await Promise.all([clients, watching]);
      agents.forEach((agent) => agent.destroy());

      const lateStart = performance.now();
      const late = await send(port, PATH, { body: balanceTurn('load-late'), timeoutMs: 3000 }).then(
        (reply) => ({ status: reply.status, ms: performance.now() - lateStart }),
        (error: { code?: string }) => ({ code: error.code, ms: performance.now() - lateStart }),
      );
      const straddlingReply = { ...(await straddling.finish()), at: performance.now() };
      // Like a real keep-alive client, it keeps its connection until the server closes it.
      const exited = await exit;
      straddlingAgent.destroy();
      return {
        attempts,
        killedAt,
        notReady,
        refusedAt,
        aliveWhenRefused,
        late,
        straddling: straddlingReply,
        exit: exited,
      };
    }

    beforeAll(async () => {
      database = await createTestDatabase();
      port = await freePort();
      // The load below is one caller's; the per-caller rate limit is not what is tested here.
      service = await drainingService(database, port, SHUTDOWN_DELAY_MS, SHUTDOWN_GRACE_MS, {
        THROTTLE_LIMIT: '100000',
      });
    }, 90_000);

    afterAll(async () => {
      await killService(service);
      await database?.drop();
    });

    it('drains: every started request completes, readiness turns first, the listener closes after the delay, exit 0', async () => {
      run = await loadAndTerminate();
      const { attempts, killedAt, notReady, refusedAt, aliveWhenRefused, late, exit } = run;
      const inFlightAtKill = attempts.filter((a) => a.startedAt < killedAt && (a.endedAt ?? 0) > killedAt).length;
      const startedAfterKill = attempts.filter((a) => a.startedAt >= killedAt).length;
      process.stdout.write(
        `SIGTERM under load: ${attempts.length} requests (${inFlightAtKill} in flight at SIGTERM, ${startedAfterKill} ` +
          `started after it); not ready (${notReady?.status}) after ${Math.round((notReady?.at ?? NaN) - killedAt)} ms, ` +
          `listener refused after ${Math.round((refusedAt ?? NaN) - killedAt)} ms, exit ${exit.code} after ` +
          `${Math.round(exit.at - killedAt)} ms; late request: ${late.code ?? late.status} in ${Math.round(late.ms)} ms\n`,
      );

      // Every request that was started got a whole 200 reply: no errors, no resets, none cut short.
      expect(attempts.filter((a) => a.error !== undefined || a.status !== 200 || !a.complete)).toEqual([]);
      expect(inFlightAtKill).toBeGreaterThan(0);
      expect(attempts.length).toBeLessThan(CLIENTS * MAX_REQUESTS_PER_CLIENT);

      // Readiness turned at once, while the listener still served; the listener closed only after the delay.
      expect(notReady).toBeDefined();
      expect(refusedAt).toBeDefined();
      const notReadyAfter = (notReady?.at ?? NaN) - killedAt;
      const refusedAfter = (refusedAt ?? NaN) - killedAt;
      expect(notReadyAfter).toBeLessThan(SHUTDOWN_DELAY_MS);
      expect(refusedAfter).toBeGreaterThan(notReadyAfter);
      expect(refusedAfter).toBeGreaterThanOrEqual(SHUTDOWN_DELAY_MS - 50);

      // A request started after the delay is refused at once rather than left hanging, while the process
      // is still finishing the request that was in flight; that one still gets its whole reply.
      expect(aliveWhenRefused).toBe(true);
      expect(late).toEqual({ code: 'ECONNREFUSED', ms: expect.any(Number) });
      expect(late.ms).toBeLessThan(1000);
      expect(run.straddling.status).toBe(200);
      expect(json(run.straddling)).toMatchObject({ requestId: 'load-straddling', outcome: 'fulfilled' });

      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(exit.at - killedAt).toBeLessThan(SHUTDOWN_GRACE_MS);
      expect(service.output()).not.toMatch(/Shutdown (failed|took longer)/);
    });

    it('ends the connection of a request in flight when the listener closed (Connection: close), so exit is prompt', () => {
      expect(run?.straddling.headers.connection).toBe('close');
      // Not held open until the keep-alive timeout (HTTP_KEEP_ALIVE_TIMEOUT_MS, 5 s) by the idle connection.
      expect((run?.exit.at ?? NaN) - (run?.straddling.at ?? NaN)).toBeLessThan(2000);
    });

    it('answers readiness with 503 and the shutdown indicator down while draining', () => {
      expect(run?.notReady).toMatchObject({
        status: 503,
        body: { status: 'error', error: { shutdown: { status: 'down', message: 'shutting down' } } },
      });
    });
  });

  describe('SIGTERM while an async turn is still arriving', () => {
    let database: TestDatabase;
    let service: ServiceProcess;
    let port: number;

    beforeAll(async () => {
      database = await createTestDatabase();
      port = await freePort();
      service = await drainingService(database, port, 300, 10_000);
    }, 90_000);

    afterAll(async () => {
      await killService(service);
      await database?.drop();
    });

    it('queues the turn and acknowledges it: the job queue stops taking jobs, but stays open for turns being answered', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const turn = {
        requestId: `statement-${Date.now()}`,
        sessionId: 'resilience-async-drain',
        intent: 'RequestStatement',
        parameters: { user_id: CUSTOMER },
      };
      const arriving = startSlowRequest(port, turn, agent);
      await arriving.headersSent;
      if (!service.child.kill('SIGTERM')) throw new Error('could not signal the service');
      // The listener has closed (and the job queue's workers have stopped) before the turn's body is complete.
      await eventually(() => expect(send(port, '/health/live', { timeoutMs: 500 })).rejects.toThrow(), 5000, 50);
      const reply = await arriving.finish();
      agent.destroy();
      expect(reply.status).toBe(200);
      const id = json<{ sessionParameters?: { pendingFulfillmentId?: string } }>(reply).sessionParameters
        ?.pendingFulfillmentId;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(await service.exited).toMatchObject({ code: 0 });
      // Queued for another replica: the fulfillment and its job are there, not yet run.
      expect(await queryTestDatabase(database.url, 'SELECT status FROM fulfillments WHERE id = $1', [id])).toEqual([
        { status: 'queued' },
      ]);
      expect(await queryTestDatabase(database.url, 'SELECT state FROM pgboss.job WHERE id = $1', [id])).toEqual([
        { state: 'created' },
      ]);
    });
  });
});
