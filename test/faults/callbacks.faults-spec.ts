import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { decodeStandardWebhookSecret, verifyStandardWebhook } from '../../src/auth/hmac/standard-webhooks';
import { writeCallbackCaller } from './support/callback-caller';
import { FaultCluster } from './support/fault-cluster';

const TOKEN = `statements-${randomBytes(12).toString('hex')}`;
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

interface Received {
  readonly webhookId: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly fulfillmentId: string;
}

/** A callback receiver that answers 204, or holds a request unanswered while `holding` is set. */
class Receiver {
  readonly received: Received[] = [];
  holding = false;
  private readonly held: ServerResponse[] = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<Receiver> {
    const receiver: Receiver = new Receiver(
      createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.once('end', () => {
          const body = Buffer.concat(chunks);
          const payload = JSON.parse(body.toString('utf8')) as { data?: { id?: string } };
          receiver.received.push({
            webhookId: String(req.headers['webhook-id']),
            headers: req.headers,
            body,
            fulfillmentId: String(payload.data?.id),
          });
          if (receiver.holding) receiver.held.push(res);
          else res.writeHead(204).end();
        });
      }),
    );
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/callbacks`;
  }

  of(fulfillmentId: string): Received[] {
    return this.received.filter((entry) => entry.fulfillmentId === fulfillmentId);
  }

  async close(): Promise<void> {
    for (const response of this.held) response.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * Callbacks are at least once, with a stable webhook-id: the replica is SIGKILLed while a callback request is
 * in flight (the receiver has it and has not answered). After the restart, that delivery, and only that one,
 * is sent again with the same webhook-id and the same signed body; receivers de-duplicate on the id.
 */
describe('a crash in the middle of a callback attempt (one replica, a receiver the test owns)', () => {
  let cluster: FaultCluster;
  let receiver: Receiver;
  let workDir: string;

  beforeAll(async () => {
    receiver = await Receiver.start();
    workDir = mkdtempSync(join(tmpdir(), 'wf-callback-faults-'));
    const callersFile = writeCallbackCaller(workDir, TOKEN, SECRET, receiver.url);
    cluster = await FaultCluster.start({
      replicas: 1,
      env: {
        CALLERS_FILE: callersFile,
        ASYNC_POLL_INTERVAL_MS: '500',
        // A callback attempt's job expires CALLBACK_TIMEOUT_MS + 30 s after it started: then it is retried.
        CALLBACK_TIMEOUT_MS: '1000',
        CALLBACK_RETRY_SCHEDULE: '200ms,200ms,200ms',
        ASYNC_MAINTENANCE_INTERVAL_SECONDS: '1',
      },
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await receiver?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  async function requestStatement(): Promise<string> {
    const requestId = `statement-${randomUUID()}`;
    const response = await request(`http://127.0.0.1:${cluster.replicas[0].port}/v1/webhooks/generic`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        requestId,
        sessionId: requestId,
        intent: 'RequestStatement',
        parameters: { user_id: '12345', account_type: 'checking' },
      }),
    });
    const reply = (await response.body.json()) as { sessionParameters?: { pendingFulfillmentId?: string } };
    expect(response.statusCode).toBe(200);
    const id = reply.sessionParameters?.pendingFulfillmentId;
    expect(id).toEqual(expect.any(String));
    return id!;
  }

  const deliveryOf = async (fulfillmentId: string) =>
    (
      await cluster.query<{ status: string; attempts: number }>(
        'SELECT status, attempts FROM callback_deliveries WHERE fulfillment_id = $1',
        [fulfillmentId],
      )
    )[0];

  const verified = (entry: Received) =>
    verifyStandardWebhook({
      headers: {
        id: entry.headers['webhook-id'] as string,
        timestamp: entry.headers['webhook-timestamp'] as string,
        signature: entry.headers['webhook-signature'] as string,
      },
      rawBody: entry.body,
      secrets: [decodeStandardWebhookSecret(SECRET)],
      nowSeconds: Math.floor(Date.now() / 1000),
    }).ok;

  it('re-sends only the delivery that was in flight, with the same webhook-id and body', async () => {
    // A delivery that completes before the crash.
    const done = await requestStatement();
    await until(
      'the first delivery',
      async () => ((await deliveryOf(done))?.status === 'delivered' ? true : undefined),
      20_000,
    );

    // A delivery whose attempt is in flight when the process dies.
    receiver.holding = true;
    const inFlight = await requestStatement();
    const first = await until('the held attempt', () => receiver.of(inFlight)[0], 20_000);
    await cluster.restart(cluster.replicas[0]);
    receiver.holding = false;

    const again = await until('the attempt after the crash', () => receiver.of(inFlight)[1], 90_000);
    await until(
      'the re-sent delivery to settle',
      async () => ((await deliveryOf(inFlight))?.status === 'delivered' ? true : undefined),
      10_000,
    );
    await sleep(1500); // anything else that would be sent, would be by now

    expect(again.webhookId).toBe(first.webhookId);
    expect(again.body.equals(first.body)).toBe(true);
    expect([first, again].every(verified)).toBe(true);
    expect(receiver.of(inFlight)).toHaveLength(2);
    // The delivery that had completed was not sent again.
    expect(receiver.of(done)).toHaveLength(1);
    expect(new Set(receiver.received.map((entry) => entry.webhookId)).size).toBe(2);
    expect(cluster.alive()).toBe(true);
  }, 150_000);
});
