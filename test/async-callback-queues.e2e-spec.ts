import { dump as toYaml } from 'js-yaml';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CallbackDeliveries,
  DELIVERY_CONCURRENCY,
  DELIVERY_QUEUE,
  deliveryQueueOf,
  FAILED_DELIVERY_QUEUE,
} from '../src/async/callback-deliveries';
import type { StoredFulfillment } from '../src/async/fulfillment-record.entity';
import { JobQueue } from '../src/async/job-queue';
import { CallerRegistry } from '../src/auth/callers/caller-registry';
import { type CallbackReceiver, eventually, startCallbackReceiver, verifyCallback } from './support/callback-receiver';
import { startTestApp, type TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';
import { type CommandResult, runCommand } from './support/command-process';

/** How long the slow receiver takes to answer 200: well inside CALLBACK_TIMEOUT_MS, so its circuit never opens. */
const SLOW_ANSWER_MS = 2_000;
const POLL_INTERVAL_MS = 500;
const RELOAD_INTERVAL_MS = 500;

const whsec = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** A receiver that answers 200 after `delayMs`, and keeps when each request arrived and how many it held at once. */
async function startSlowReceiver(delayMs: number) {
  const arrivals: number[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.once('end', () => {
      arrivals.push(Date.now());
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      setTimeout(() => {
        inFlight -= 1;
        response.writeHead(200, { 'content-length': 0 });
        response.end();
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callbacks`,
    arrivals,
    mostInFlight: () => mostInFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface Entry {
  readonly id: string;
  url: string;
  secret: string;
}

/** Each caller's delivery queue, its replays and the queues of callers that come and go. */
describe('callback delivery queues: one per caller (real receivers, real PostgreSQL, pg-boss)', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'wf-callback-queues-'));
  const callersFile = join(workDir, 'callers.yaml');
  let t: TestApp;
  let slow: Awaited<ReturnType<typeof startSlowReceiver>>;
  let quick: CallbackReceiver;
  let legacy: CallbackReceiver;
  let oldHome: CallbackReceiver;
  let newHome: CallbackReceiver;
  let added: CallbackReceiver;
  const entries = new Map<string, Entry>();

  function writeCallers(): void {
    const callers = [...entries.values()].map((entry) => ({
      id: entry.id,
      platforms: ['generic'],
      auth: { bearer: { tokens: [`${entry.id}-${randomBytes(16).toString('hex')}`] } },
      callback: { url: entry.url, secrets: [entry.secret], allowPrivateNetwork: true },
    }));
    writeFileSync(callersFile, toYaml({ callers }));
  }

  /** Rewrites the callers file and waits until the service has reloaded it (`check` holds). */
  async function reloadCallers(check: (registry: CallerRegistry) => boolean): Promise<void> {
    writeCallers();
    await eventually(() => expect(check(t.app.get(CallerRegistry))).toBe(true), 10_000);
  }

  function fulfillment(callerId: string): StoredFulfillment {
    return {
      id: randomUUID(),
      callerId,
      platform: 'generic',
      sessionId: `session-${randomBytes(4).toString('hex')}`,
      intent: 'RequestStatement',
      mode: 'async',
      status: 'completed',
      result: { text: 'done' },
      createdAt: new Date(),
      completedAt: new Date(),
    };
  }

  async function enqueue(callerId: string): Promise<string> {
    const id = await t.app.get(CallbackDeliveries).enqueue(fulfillment(callerId));
    if (!id) throw new Error(`caller ${callerId} has no callback URL`);
    return id;
  }

  async function delivery(id: string) {
    const [row] = await queryTestDatabase<{ status: string; attempts: number; url: string; last_error: string | null }>(
      t.database.url,
      'SELECT status, attempts, url, last_error FROM callback_deliveries WHERE id = $1',
      [id],
    );
    return row;
  }

  function settled(id: string, status: string, timeoutMs = 10_000) {
    return eventually(async () => {
      const row = await delivery(id);
      expect(row).toMatchObject({ status });
      return row;
    }, timeoutMs);
  }

  /** The queues the jobs of a delivery went to, oldest first. */
  async function queuesOf(deliveryId: string): Promise<string[]> {
    const rows = await queryTestDatabase<{ name: string }>(
      t.database.url,
      `SELECT name, created_on FROM pgboss.job WHERE data->>'deliveryId' = $1
       UNION ALL SELECT name, created_on FROM pgboss.archive WHERE data->>'deliveryId' = $1
       ORDER BY created_on`,
      [deliveryId],
    );
    return rows.map((row) => row.name);
  }

  function deliveriesCli(env: Record<string, string>, ...args: string[]): Promise<CommandResult> {
    return runCommand('deliveries.cli.js', args, { DATABASE_URL: t.database.url, ...env });
  }

  beforeAll(async () => {
    slow = await startSlowReceiver(SLOW_ANSWER_MS);
    [quick, legacy, oldHome, newHome, added] = await Promise.all(
      Array.from({ length: 5 }, () => startCallbackReceiver()),
    );
    for (const [id, url] of [
      ['slow', slow.url],
      ['quick', quick.url],
      ['legacy', legacy.url],
      ['moving', oldHome.url],
    ]) {
      entries.set(id, { id, url, secret: whsec() });
    }
    writeCallers();
    t = await startTestApp({
      env: {
        CALLERS_FILE: callersFile,
        CALLERS_RELOAD_INTERVAL_MS: String(RELOAD_INTERVAL_MS),
        ASYNC_POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
        CALLBACK_TIMEOUT_MS: '3000',
        CALLBACK_RETRY_SCHEDULE: '3s,3s',
        CALLBACK_RETRY_HORIZON_HOURS: '0',
        SHUTDOWN_GRACE_MS: '3000',
      },
    });
  });

  afterAll(async () => {
    await t?.close();
    await Promise.all([slow, quick, legacy, oldHome, newHome, added].map((receiver) => receiver?.close()));
    rmSync(workDir, { recursive: true, force: true });
  });

  it("a slow receiver's backlog does not hold up another caller's callback, and has every lane to itself", async () => {
    // Three lanes' worth of deliveries to a receiver that takes 2 s to say 200: with one queue for every caller,
    // quick's callback waited behind all of them (about 4 s after the lanes filled; 26 s in production's 9 s case).
    const backlog = await Promise.all(Array.from({ length: 3 * DELIVERY_CONCURRENCY }, () => enqueue('slow')));
    await eventually(() => expect(slow.arrivals.length).toBe(DELIVERY_CONCURRENCY), 10_000);

    const queuedAt = Date.now();
    const id = await enqueue('quick');
    await settled(id, 'delivered');
    // Within a poll or two (about 0.4 s here): not even one of the slow receiver's answers was waited for.
    const waitedMs = quick.received[0].at - queuedAt;
    expect(waitedMs).toBeLessThan(SLOW_ANSWER_MS);
    expect(slow.arrivals.length).toBeLessThan(backlog.length);

    // A caller alone keeps its throughput: all of its lanes at once, the backlog done in three rounds.
    for (const delivery of backlog) await settled(delivery, 'delivered', 20_000);
    expect(slow.mostInFlight()).toBe(DELIVERY_CONCURRENCY);
    expect(await queuesOf(id)).toEqual([deliveryQueueOf('quick')]);
  }, 60_000);

  it('a job an earlier release queued on the shared queue is delivered, and retried on the caller queue', async () => {
    // A rolling upgrade: the replicas of the release before queued every delivery on `callback-delivery`.
    legacy.respondWith((_request, index) => (index === 0 ? 503 : 204));
    const id = `msg_${randomUUID().replaceAll('-', '')}`;
    await queryTestDatabase(
      t.database.url,
      `INSERT INTO callback_deliveries (id, fulfillment_id, caller_id, url, payload, status, next_attempt_at)
       VALUES ($1, $2, 'legacy', $3, '{}', 'pending', now())`,
      [id, randomUUID(), legacy.url],
    );
    await t.app.get(JobQueue).send(DELIVERY_QUEUE, { deliveryId: id, attempt: 0 });
    const row = await settled(id, 'delivered', 15_000);
    expect(row.attempts).toBe(2);
    expect(await queuesOf(id)).toEqual([DELIVERY_QUEUE, deliveryQueueOf('legacy')]);
  }, 30_000);

  it('a caller a reload adds gets its own queue; a removed caller whose queue holds jobs has them worked', async () => {
    entries.set('added', { id: 'added', url: added.url, secret: whsec() });
    await reloadCallers((registry) => registry.byId('added') !== undefined);
    const id = await enqueue('added');
    await settled(id, 'delivered');
    expect(await queuesOf(id)).toEqual([deliveryQueueOf('added')]);

    // A queue of a caller this replica never had (gone from the file before it started, say), holding a job that
    // another replica queued before its own reload: worked all the same, and the delivery dead, not pending for ever.
    const ghostQueue = deliveryQueueOf('ghost');
    await queryTestDatabase(t.database.url, 'SELECT pgboss.create_queue($1, $2)', [
      ghostQueue,
      JSON.stringify({ policy: 'standard', retryLimit: 5, retryDelay: 5, deadLetter: FAILED_DELIVERY_QUEUE }),
    ]);
    const ghost = `msg_${randomUUID().replaceAll('-', '')}`;
    await queryTestDatabase(
      t.database.url,
      `INSERT INTO callback_deliveries (id, fulfillment_id, caller_id, url, payload, status, next_attempt_at)
       VALUES ($1, $2, 'ghost', 'https://ghost.example/callbacks', '{}', 'pending', now())`,
      [ghost, randomUUID()],
    );
    await t.app.get(JobQueue).send(ghostQueue, { deliveryId: ghost, attempt: 0 });
    expect(await settled(ghost, 'dead')).toMatchObject({
      attempts: 0,
      last_error: 'the caller no longer has a callback URL',
    });
  }, 30_000);

  it('a caller that moves its callback URL gets its pending deliveries there, and a replay goes there too', async () => {
    const moving = entries.get('moving') as Entry;
    const oldSecret = moving.secret;
    // One delivery dead at the old URL, one waiting for its retry there.
    oldHome.respondWith(() => 400);
    const dead = await enqueue('moving');
    await settled(dead, 'dead');
    oldHome.respondWith(() => 503);
    const pending = await enqueue('moving');
    await eventually(async () => expect(await delivery(pending)).toMatchObject({ status: 'pending', attempts: 1 }));

    // The operator points the caller at a new receiver, with a new secret. Before, the pending delivery was dead at
    // its next attempt ("the caller no longer has this callback URL"), and a replay died the same way.
    moving.url = newHome.url;
    moving.secret = whsec();
    await reloadCallers((registry) => registry.byId('moving')?.callback?.url === newHome.url);
    const movedRow = await settled(pending, 'delivered');
    // Its retry may come round once more at the old URL before the reload lands (a busy machine): every attempt
    // but the last was refused there, and the last was the new receiver's.
    const refusedAtOldHome = oldHome.received.filter((entry) => entry.headers['webhook-id'] === pending).length;
    expect(refusedAtOldHome).toBeGreaterThanOrEqual(1);
    expect(movedRow).toMatchObject({ attempts: refusedAtOldHome + 1, url: newHome.url });
    const [redelivered] = newHome.received;
    expect(redelivered.headers['webhook-id']).toBe(pending);
    expect(verifyCallback(redelivered, moving.secret)).toMatchObject({ ok: true, webhookId: pending });
    expect(verifyCallback(redelivered, oldSecret)).toMatchObject({ ok: false });

    // Without the callers file the command cannot know the URL, and says so.
    const unknown = await deliveriesCli({}, 'replay', dead);
    expect(unknown).toEqual({
      code: 0,
      stdout:
        `Replaying ${dead} to the callback URL caller moving has when it is sent ` +
        `(CALLERS_FILE is not set; it was last sent to ${oldHome.url})\n`,
      stderr: '',
    });
    expect(await settled(dead, 'delivered')).toMatchObject({ attempts: 1, url: newHome.url });

    // Dead again (the new receiver refuses it), then replayed with the callers file: to the new URL, said so.
    newHome.respondWith(() => 400);
    const refused = await enqueue('moving');
    await settled(refused, 'dead');
    newHome.respondWith(() => 204);
    moving.url = oldHome.url;
    await reloadCallers((registry) => registry.byId('moving')?.callback?.url === oldHome.url);
    oldHome.respondWith(() => 204);
    const known = await deliveriesCli({ CALLERS_FILE: callersFile }, 'replay', refused);
    expect(known).toEqual({ code: 0, stdout: `Replaying ${refused} to ${oldHome.url}\n`, stderr: '' });
    expect(await settled(refused, 'delivered')).toMatchObject({ attempts: 1, url: oldHome.url });
    expect(oldHome.received.at(-1)?.headers['webhook-id']).toBe(refused);
    expect(await queuesOf(refused)).toEqual([deliveryQueueOf('moving'), deliveryQueueOf('moving')]);
  }, 60_000);
});
