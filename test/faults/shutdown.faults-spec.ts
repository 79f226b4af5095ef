import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request as httpRequest } from 'node:http';
import { FaultCluster } from './support/fault-cluster';

const SHUTDOWN_DELAY_MS = 1000;
const ROUNDS = 5;
const CLIENTS = 4;
/**
 * How long before the listener closed a new connection may have been made and still be reset in the kernel's
 * accept queue: as long as the event loop was too busy to accept it, which on a loaded 2-core CI machine has
 * exceeded 20 ms. Whether such a request reached the service is checked directly, against its turn log.
 */
const ACCEPT_QUEUE_MARGIN_MS = 250;
/**
 * The service's log times are whole milliseconds of the wall clock; the clients' send times are this process's
 * performance clock, turned into the same wall clock. A request sent this much after the logged instant was sent
 * after the service's SIGTERM handler ran.
 */
const CLOCK_MARGIN_MS = 5;

/**
 * When the service's SIGTERM handler ran, on this process's performance clock: the time of its `SIGTERM received`
 * line, logged first thing in the handler (readiness turns to draining in the same turn of the event loop).
 */
function signalHandledAt(output: string): number {
  const line = output
    .split('\n')
    .map((text) => {
      try {
        return JSON.parse(text) as { time?: string; msg?: string };
      } catch {
        return {};
      }
    })
    .find((entry) => entry.msg === 'SIGTERM received: closing');
  if (line?.time === undefined) throw new Error(`the service logged no "SIGTERM received" line:\n${output}`);
  return Date.parse(line.time) - performance.timeOrigin;
}

interface Sent {
  readonly requestId: string;
  readonly at: number;
  /** Sent on a connection an earlier request had used (keep-alive), not a new one. */
  readonly reused: boolean;
  readonly status?: number;
  readonly connection?: string;
  readonly fulfilled?: boolean;
  readonly error?: string;
}

/**
 * SIGTERM with clients that ignore readiness: each keeps sending turns on its own keep-alive connection
 * (undici Client: one connection, reconnecting when the server closes it) until the service stops listening.
 * Over several shutdowns no request is reset or cut short: each one gets a whole reply, or, once the listener
 * has closed, is refused before anything was sent (ECONNREFUSED, safe to send elsewhere). From SIGTERM every
 * response says `Connection: close`, so no client sends on a connection the server is about to close.
 */
describe('SIGTERM with keep-alive clients that ignore readiness (a real process, several shutdowns)', () => {
  let cluster: FaultCluster;

  beforeAll(async () => {
    cluster = await FaultCluster.start({
      replicas: 1,
      // Info, as in production: the SIGTERM handler's first line tells when it ran.
      env: { SHUTDOWN_DELAY_MS: String(SHUTDOWN_DELAY_MS), SHUTDOWN_GRACE_MS: '10000', LOG_LEVEL: 'info' },
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  /** One keep-alive connection at a time (node:http Agent, maxSockets 1), sending turns back to back. */
  async function pinnedClient(port: number, name: string, stop: () => boolean): Promise<Sent[]> {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sent: Sent[] = [];
    try {
      for (let n = 0; !stop(); n += 1) {
        const entry = await turn(agent, port, `${name}-${n}`);
        sent.push(entry);
        if (entry.error === 'ECONNREFUSED') break;
      }
      return sent;
    } finally {
      agent.destroy();
    }
  }

  function turn(agent: Agent, port: number, requestId: string): Promise<Sent> {
    const at = performance.now();
    const body = JSON.stringify({
      requestId,
      sessionId: requestId,
      intent: 'GetAccountBalance',
      parameters: { user_id: '12345', account_type: 'checking' },
    });
    return new Promise((resolve) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/webhooks/generic',
          method: 'POST',
          agent,
          headers: { authorization: 'Bearer local-dev-token', 'content-type': 'application/json' },
          timeout: 5000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.once('error', (error: NodeJS.ErrnoException) =>
            resolve({ requestId, at, reused: req.reusedSocket, error: error.code ?? error.message }),
          );
          res.once('end', () => {
            let outcome: string | undefined;
            try {
              outcome = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { outcome?: string }).outcome;
            } catch {
              outcome = undefined;
            }
            resolve({
              requestId,
              at,
              reused: req.reusedSocket,
              status: res.statusCode,
              connection: res.headers.connection,
              fulfilled: outcome === 'fulfilled',
            });
          });
        },
      );
      req.once('timeout', () => req.destroy(new Error('timeout')));
      req.once('error', (error: NodeJS.ErrnoException) =>
        resolve({ requestId, at, reused: req.reusedSocket, error: error.code ?? error.message }),
      );
      req.end(body);
    });
  }

  it(`no request reset in ${ROUNDS} shutdowns; every response from SIGTERM on says Connection: close`, async () => {
    const replica = cluster.replicas[0];
    const summary: string[] = [];
    let resets = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      if (round > 0) await cluster.restart(replica);
      let stopped = false;
      const clients = Array.from({ length: CLIENTS }, (_, index) =>
        pinnedClient(replica.port, `pinned-${round}-${index}`, () => stopped),
      );
      await sleep(400);
      const killedAt = performance.now();
      replica.service.child.kill('SIGTERM');
      const exit = await replica.service.exited;
      stopped = true;
      const sent = (await Promise.all(clients)).flat();

      const before = sent.filter((entry) => entry.at < killedAt);
      // The signal reaches the handler within a few ms of kill(), unless the service's event loop or the machine
      // is busy at that instant: a CI run saw a request sent over 50 ms after kill() answered before it.
      const handledAt = signalHandledAt(replica.service.output());
      const after = sent.filter((entry) => entry.at >= handledAt + CLOCK_MARGIN_MS && entry.status !== undefined);
      summary.push(
        `round ${round}: ${before.length} sent before SIGTERM, handled ${Math.round(handledAt - killedAt)} ms ` +
          `after kill(), ${after.length} answered after that (Connection: close)`,
      );
      expect(exit).toMatchObject({ code: 0 });
      // No request sent on a keep-alive connection failed: the server never closed one under a client.
      expect(sent.filter((entry) => entry.error !== undefined && entry.reused)).toEqual([]);
      // A new connection fails only when the listener has closed: refused, or (TCP, Linux) reset when it was
      // still in the kernel's accept queue at that instant; either way the service never saw the request.
      const listenerClosedAt =
        Math.min(...sent.filter((entry) => entry.error === 'ECONNREFUSED').map((entry) => entry.at)) - killedAt;
      expect(listenerClosedAt).toBeGreaterThanOrEqual(SHUTDOWN_DELAY_MS - 50);
      // The clients see the close only when they next connect, which can be well after it: the kernel resets what
      // was in the accept queue at the close itself. So the close is taken no later than the designed delay.
      const closedBy = Math.min(listenerClosedAt, SHUTDOWN_DELAY_MS);
      const failedEarly = sent.filter(
        (entry) => entry.error !== undefined && entry.at - killedAt < closedBy - ACCEPT_QUEUE_MARGIN_MS,
      );
      expect(failedEarly).toEqual([]);
      expect(
        sent.filter(
          (entry) => entry.error !== undefined && entry.error !== 'ECONNREFUSED' && entry.error !== 'ECONNRESET',
        ),
      ).toEqual([]);
      // Every request that reached the service got a whole, normal reply.
      expect(sent.filter((entry) => entry.status !== undefined && !(entry.status === 200 && entry.fulfilled))).toEqual(
        [],
      );
      // Reconciled with what the service recorded (its turn log, flushed as it closed): every answered request is
      // there, and no reset one (a reset connection was still in the accept queue: the service never saw it).
      const logged = new Set(
        (
          await cluster.query<{ request_id: string }>('SELECT request_id FROM turn_log WHERE request_id LIKE $1', [
            `pinned-${round}-%`,
          ])
        ).map((row) => row.request_id),
      );
      expect(sent.filter((entry) => entry.status !== undefined && !logged.has(entry.requestId))).toEqual([]);
      expect(sent.filter((entry) => entry.error !== undefined && logged.has(entry.requestId))).toEqual([]);
      resets += sent.filter((entry) => entry.error === 'ECONNRESET').length;
      expect(after.length).toBeGreaterThan(CLIENTS); // the clients kept sending through the delay
      expect(after.filter((entry) => entry.connection !== 'close')).toEqual([]);
    }
    process.stdout.write(
      `${summary.join('\n')}\nnew connections reset in the accept queue at listener close: ${resets}\n`,
    );
  }, 120_000);
});

/**
 * SIGTERM while PostgreSQL's address takes connections and never answers (a frozen primary, a proxy whose backend
 * is gone): the job queue's pool has connections stuck in their start-up, and closing it waited for them for ever,
 * so the process was forced out at the end of the grace period (exit 1) without flushing its audit or closing.
 */
describe('SIGTERM while the database never answers (a real process)', () => {
  let cluster: FaultCluster;

  beforeAll(async () => {
    cluster = await FaultCluster.start({
      replicas: 1,
      env: { SHUTDOWN_DELAY_MS: '300', SHUTDOWN_GRACE_MS: '20000', LOG_LEVEL: 'info' },
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('still stops cleanly within the grace period', async () => {
    const replica = cluster.replicas[0];
    cluster.proxy.blackHole();
    // The queue's workers poll every couple of seconds: long enough for them to be waiting on new connections.
    await sleep(4000);
    replica.service.child.kill('SIGTERM');
    const exit = await replica.service.exited;
    expect(replica.service.output()).toContain('Stopped cleanly');
    expect(replica.service.output()).not.toContain('Shutdown took longer');
    expect(exit).toMatchObject({ code: 0 });
  }, 60_000);
});
