import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { type CallbackReceiver, startCallbackReceiver } from '../support/callback-receiver';
import { writeCallbackCaller } from './support/callback-caller';
import { DEGRADED_TEXT, FaultCluster, INTERIM_TEXT, UNCONFIRMED_TEXT } from './support/fault-cluster';

const TOKEN = `async-${randomBytes(12).toString('hex')}`;
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const TURNS = 40;
const CONCURRENCY = 4;
/** Between a lane's turns: the 40 turns take about 6 s, over both faults. */
const PACE_MS = 600;
const SETTLE_LIMIT_MS = 90_000;
/** How long the archive takes to file a statement: jobs are in flight when the faults strike. */
const ARCHIVE_DELAY_MS = 1000;

/**
 * A document archive on 127.0.0.1 that files statements slowly and de-duplicates on Idempotency-Key, as the real
 * one does: the same key always gets the same reference. Counts the filings of each key.
 */
async function startArchive(): Promise<{ server: Server; url: string; filings: Map<string, number> }> {
  const filings = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      const key = String(req.headers['idempotency-key']);
      filings.set(key, (filings.get(key) ?? 0) + 1);
      setTimeout(() => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ reference: `AR-${key.slice(0, 12)}` }));
      }, ARCHIVE_DELAY_MS);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, filings };
}

interface Turn {
  readonly requestId: string;
  fulfillmentId?: string;
  /**
   * Replies other than the acknowledgement (the degraded reply, "still working", 409 in progress, none): the bot
   * sent it again.
   */
  resent: number;
}

/**
 * Asynchronous fulfillments (RequestStatement: acknowledged at once, run as a job, the result sent to the caller's
 * callback) while PostgreSQL restarts and a replica is killed mid-run. A bot re-sends a turn it did not get the
 * acknowledgement for, as platforms do. Afterwards every turn has one fulfillment, completed once (one statement
 * filed), and one callback delivery that reached the receiver, any repeat with the same webhook-id.
 */
describe('async fulfillments through a PostgreSQL restart and a replica killed mid-run (two replicas)', () => {
  let cluster: FaultCluster;
  let receiver: CallbackReceiver;
  let archive: Awaited<ReturnType<typeof startArchive>>;
  let workDir: string;

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    archive = await startArchive();
    workDir = mkdtempSync(join(tmpdir(), 'wf-async-faults-'));
    const callersFile = writeCallbackCaller(workDir, TOKEN, SECRET, receiver.url);
    cluster = await FaultCluster.start({
      env: {
        CALLERS_FILE: callersFile,
        STATEMENT_ARCHIVE_URL: archive.url,
        ASYNC_POLL_INTERVAL_MS: '500',
        // A job whose replica died is expired and run again elsewhere after this long.
        ASYNC_JOB_TIMEOUT_MS: '3000',
        ASYNC_MAINTENANCE_INTERVAL_SECONDS: '1',
        CALLBACK_TIMEOUT_MS: '1000',
        CALLBACK_RETRY_SCHEDULE: '200ms,500ms,1s',
      },
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await receiver?.close();
    archive?.server.closeAllConnections();
    await new Promise((resolve) => archive?.server.close(resolve));
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  /** One attempt of the turn on a replica: the fulfillment id when acknowledged, undefined otherwise. */
  async function send(turn: Turn, port: number): Promise<string | undefined> {
    let status: number;
    let reply: { text?: string; error?: string; sessionParameters?: Record<string, string> };
    try {
      const response = await request(`http://127.0.0.1:${port}/v1/webhooks/generic`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          requestId: turn.requestId,
          sessionId: turn.requestId,
          intent: 'RequestStatement',
          parameters: { user_id: '12345', account_type: 'checking' },
        }),
        headersTimeout: 5000,
        bodyTimeout: 5000,
      });
      status = response.statusCode;
      reply = (await response.body.json()) as typeof reply;
    } catch {
      // A replica killed under the request, or not listening yet: the bot gets no answer and sends the turn again.
      return undefined;
    }
    const id = status === 200 ? reply.sessionParameters?.pendingFulfillmentId : undefined;
    // Not acknowledged, and to be sent again: the degraded reply while PostgreSQL is away; "still working" when
    // queueing the job outlived the deadline (PostgreSQL came back mid-turn: a retry gets the acknowledgement once
    // the queueing has finished, or queues it again if it failed); 409 while a first delivery is still leased (to
    // the queueing still under way, or to a killed replica until the lease expires).
    const resend =
      reply.text === DEGRADED_TEXT ||
      reply.text === UNCONFIRMED_TEXT ||
      reply.text === INTERIM_TEXT ||
      (status === 409 && reply.error === 'IDEMPOTENCY_IN_PROGRESS');
    if (!id && !resend) throw new Error(`unexpected reply ${status} ${JSON.stringify(reply)}`);
    return id;
  }

  /** Sends every turn, each until acknowledged, alternating the replicas, `CONCURRENCY` at a time. */
  async function sendAll(turns: Turn[]): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, lane) => {
        for (let index = next++; index < turns.length; index = next++) {
          const turn = turns[index];
          for (let attempt = 0; !turn.fulfillmentId; attempt += 1) {
            if (attempt > 200) throw new Error(`turn ${turn.requestId} was never acknowledged`);
            const replica = cluster.replicas[(index + attempt + lane) % cluster.replicas.length];
            turn.fulfillmentId = await send(turn, replica.port);
            if (!turn.fulfillmentId) {
              turn.resent += 1;
              await sleep(100);
            }
          }
          await sleep(PACE_MS);
        }
      }),
    );
  }

  const settled = async () => {
    const [row] = await cluster.query<{ open: string; undelivered: string }>(
      `SELECT (SELECT count(*) FROM fulfillments WHERE status NOT IN ('completed', 'failed')) AS open,
              (SELECT count(*) FROM callback_deliveries WHERE status <> 'delivered') AS undelivered`,
    );
    return row.open === '0' && row.undelivered === '0';
  };

  it('every turn is fulfilled once and its result delivered, nothing lost or doubled', async () => {
    const turns: Turn[] = Array.from({ length: TURNS }, () => ({ requestId: `async-${randomUUID()}`, resent: 0 }));
    const sending = sendAll(turns);

    await sleep(1500);
    await cluster.postgres.stop();
    await sleep(1000);
    await cluster.startPostgres();
    await sleep(1500);
    await cluster.restart(cluster.replicas[1]);
    await sending;

    const until = Date.now() + SETTLE_LIMIT_MS;
    while (!(await settled())) {
      if (Date.now() > until) throw new Error(`not settled in ${SETTLE_LIMIT_MS} ms:\n${cluster.output()}`);
      await sleep(250);
    }
    await sleep(1500); // any repeat delivery would have been sent by now

    const ids = turns.map((turn) => turn.fulfillmentId as string);
    expect(new Set(ids).size).toBe(TURNS);
    // Both replicas lived through PostgreSQL's restart (before, pg-boss recorded a job's end without awaiting it,
    // and PostgreSQL going away just then ended the process with an unhandled rejection).
    expect(cluster.replicas[0].service.child.exitCode).toBeNull();
    expect(cluster.alive()).toBe(true);
    // The faults really hit the turns and the jobs: some turns were answered degraded (or not at all) and sent
    // again, and some jobs ran again after a run the faults broke.
    expect(turns.some((turn) => turn.resent > 0)).toBe(true);
    const [{ rerun }] = await cluster.query<{ rerun: string }>(
      "SELECT count(*) AS rerun FROM pgboss.job WHERE name = 'async-fulfillment' AND retry_count > 0",
    );
    expect(Number(rerun)).toBeGreaterThan(0);

    // A turn sent again after its acknowledgement gets the same fulfillment.
    const again = await send(turns[0], cluster.replicas[0].port);
    expect(again).toBe(turns[0].fulfillmentId);

    const fulfillments = await cluster.query<{ id: string; status: string }>(
      "SELECT id, status FROM fulfillments WHERE mode = 'async' ORDER BY id",
    );
    expect(fulfillments.map((row) => row.id)).toEqual([...ids].sort());
    expect(fulfillments.filter((row) => row.status !== 'completed')).toEqual([]);

    // One statement a turn, under the archive's reference for the turn's key (a re-run filed it again, and the
    // archive answered with the same reference).
    const statements = await cluster.query<{ key: string; reference: string }>(
      'SELECT idempotency_key AS key, archive_reference AS reference FROM statements',
    );
    expect(statements).toHaveLength(TURNS);
    expect(statements.filter((row) => row.reference !== `AR-${row.key.slice(0, 12)}`)).toEqual([]);
    expect([...archive.filings.keys()].sort()).toEqual(statements.map((row) => row.key).sort());

    const deliveries = await cluster.query<{ fulfillment_id: string; status: string }>(
      'SELECT fulfillment_id, status FROM callback_deliveries ORDER BY fulfillment_id',
    );
    expect(deliveries.map((row) => row.fulfillment_id)).toEqual([...ids].sort());

    const received = new Map<string, Set<string>>();
    for (const entry of receiver.received) {
      const id = String((JSON.parse(entry.body.toString('utf8')) as { data?: { id?: string } }).data?.id);
      received.set(id, (received.get(id) ?? new Set()).add(String(entry.headers['webhook-id'])));
    }
    expect([...received.keys()].sort()).toEqual([...ids].sort());
    // At least once, and a repeat carries the same webhook-id for the receiver to drop.
    expect([...received.values()].filter((webhookIds) => webhookIds.size !== 1)).toEqual([]);
    expect(cluster.alive()).toBe(true);
  }, 180_000);
});
