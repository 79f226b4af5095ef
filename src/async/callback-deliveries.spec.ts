import { Logger } from '@nestjs/common';
import { CallerRegistry } from '../auth/callers/caller-registry';
import type { RegisteredCaller } from '../auth/callers/caller';
import { verifyStandardWebhook } from '../auth/hmac/standard-webhooks';
import { loadConfig } from '../config';
import type { DatabasePool } from '../database/database-pool';
import type { SqlStatement } from '../database/sql';
import type { OutboundHttpClient } from '../outbound';
import { CallbackDeliveries, type DeliveryRow } from './callback-deliveries';
import type { JobQueue } from './job-queue';

const OLD_URL = 'https://old.bot.example/results';
const NEW_URL = 'https://new.bot.example/results';
const OLD_SECRET = Buffer.from('the secret the caller had when the delivery was queued');
const NEW_SECRET = Buffer.from('the secret the caller has now');
const config = loadConfig({ DATABASE_URL: 'postgres://unused/x', CALLBACK_RETRY_SCHEDULE: '1s,2s' }, '/srv');

interface Call {
  readonly statement: string;
  readonly params: readonly unknown[];
}

interface Sent {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

function caller(callback?: RegisteredCaller['callback']): RegisteredCaller {
  return { id: 'bot', platforms: ['generic'], auth: {}, ...(callback && { callback }) };
}

/**
 * A delivery of caller `bot` queued for OLD_URL, attempted by CallbackDeliveries on a database that answers as a
 * real one would for one row, and a receiver that answers `status`.
 */
function harness(options: { callers: RegisteredCaller[]; disabledUrls?: string[]; status?: number; stale?: boolean }) {
  const row: DeliveryRow = {
    id: 'msg_0123456789abcdef0123456789abcdef',
    fulfillmentId: '6f1c1d1e-0000-4000-8000-000000000001',
    callerId: 'bot',
    url: OLD_URL,
    payload: '{"type":"fulfillment.completed"}',
    status: 'pending',
    attempts: 1,
    lastStatus: 500,
    nextAttemptAt: new Date(),
  };
  const calls: Call[] = [];
  const answers: Record<string, (params: readonly unknown[]) => unknown[]> = {
    deliveries_get: () => [row],
    deliveries_redirect: () => (options.stale ? [] : [{ redirected: 1 }]),
    deliveries_disabled: ([, url]) => ((options.disabledUrls ?? []).includes(url as string) ? [{ disabled: 1 }] : []),
    deliveries_retry_later: () => [{ updated: 1 }],
  };
  const run = (statement: SqlStatement, params: readonly unknown[]) => {
    calls.push({ statement: statement.name, params });
    return Promise.resolve(answers[statement.name]?.(params) ?? []);
  };
  const pool = {
    run,
    transaction: <T>(work: (tx: { run: typeof run }) => Promise<T>) => work({ run }),
  } as unknown as DatabasePool;

  const sent: Sent[] = [];
  const http = {
    request: (request: { url: URL; headers: Record<string, string>; body: Buffer }) => {
      sent.push({ url: String(request.url), headers: request.headers, body: request.body });
      return Promise.resolve({ status: options.status ?? 204, retryAfterMs: () => undefined });
    },
  } as unknown as OutboundHttpClient;

  const queued: { queue: string; data: unknown }[] = [];
  const worked: string[] = [];
  const queue = {
    send: (name: string, data: unknown) => {
      queued.push({ queue: name, data });
      return Promise.resolve('job-id');
    },
    workNow: (definition: { name: string }) => {
      worked.push(definition.name);
      return Promise.resolve();
    },
  } as unknown as JobQueue;

  const deliveries = new CallbackDeliveries(pool, queue, new CallerRegistry(options.callers), http, config);
  const settled = () => calls.find((call) => call.statement === 'deliveries_settle')?.params;
  return { row, calls, sent, queued, worked, deliveries, settled };
}

describe('CallbackDeliveries.attempt when the caller changed its callback URL', () => {
  const moved = caller({ url: NEW_URL, secrets: [NEW_SECRET], allowPrivateNetwork: false });
  let logged: jest.SpyInstance;
  const open: CallbackDeliveries[] = [];

  beforeEach(() => {
    logged = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all(open.splice(0).map((deliveries) => deliveries.onModuleDestroy()));
  });

  function attemptWith(options: Parameters<typeof harness>[0]) {
    const h = harness(options);
    open.push(h.deliveries);
    return { ...h, run: () => h.deliveries.attempt({ deliveryId: h.row.id, attempt: h.row.attempts }) };
  }

  it('sends a pending delivery to the URL the caller has now, signed with its secret now, and stores the URL', async () => {
    // Before, the delivery was dead at once: "the caller no longer has this callback URL".
    const h = attemptWith({ callers: [moved] });
    await h.run();

    expect(h.sent.map((request) => request.url)).toEqual([NEW_URL]);
    const [request] = h.sent;
    const verify = (secret: Buffer) =>
      verifyStandardWebhook({
        headers: {
          id: request.headers['webhook-id'],
          timestamp: request.headers['webhook-timestamp'],
          signature: request.headers['webhook-signature'],
        },
        rawBody: request.body,
        secrets: [secret],
        nowSeconds: Math.floor(Date.now() / 1000),
      });
    expect(verify(NEW_SECRET)).toMatchObject({ ok: true, webhookId: h.row.id });
    expect(verify(OLD_SECRET)).toMatchObject({ ok: false });

    // Stored before it is sent, from the attempt count the attempt read (a stale copy changes nothing).
    expect(h.calls.map((call) => call.statement)).toEqual([
      'deliveries_get',
      'deliveries_redirect',
      'deliveries_disabled',
      'deliveries_settle',
    ]);
    expect(h.calls[1].params).toEqual([h.row.id, NEW_URL, 1]);
    expect(h.calls[2].params).toEqual(['bot', NEW_URL]);
    expect(h.settled()).toEqual([h.row.id, 'delivered', 2, 204, null, 1]);
    expect(logged).toHaveBeenCalledWith(
      `Callback ${h.row.id} for caller bot goes to its new callback URL ${NEW_URL} (it was queued for ${OLD_URL})`,
    );
  });

  it('a URL disabled (410 Gone) before the caller moved does not stop the new one', async () => {
    const h = attemptWith({ callers: [moved], disabledUrls: [OLD_URL] });
    await h.run();
    expect(h.sent.map((request) => request.url)).toEqual([NEW_URL]);
    expect(h.settled()).toEqual([h.row.id, 'delivered', 2, 204, null, 1]);
  });

  it('the new URL disabled: settles as disabled without sending, and 410 from it disables the new URL', async () => {
    const disabled = attemptWith({ callers: [moved], disabledUrls: [NEW_URL] });
    await disabled.run();
    expect(disabled.sent).toEqual([]);
    expect(disabled.settled()).toEqual([
      disabled.row.id,
      'disabled',
      1,
      null,
      'the receiver answered 410 Gone earlier',
      1,
    ]);

    const gone = attemptWith({ callers: [moved], status: 410 });
    await gone.run();
    expect(gone.calls.find((call) => call.statement === 'deliveries_disable_url')?.params).toEqual(['bot', NEW_URL]);
    expect(gone.settled()?.[1]).toBe('disabled');
  });

  it('a caller with no callback URL any more: the delivery is dead, nothing sent, its URL kept', async () => {
    for (const callers of [[caller()], []]) {
      const h = attemptWith({ callers });
      await h.run();
      expect(h.sent).toEqual([]);
      expect(h.calls.map((call) => call.statement)).toEqual([
        'deliveries_get',
        'deliveries_disabled',
        'deliveries_settle',
      ]);
      expect(h.calls[1].params).toEqual(['bot', OLD_URL]);
      expect(h.settled()).toEqual([h.row.id, 'dead', 1, null, 'the caller no longer has a callback URL', 1]);
    }
  });

  it('a stale copy of the job, whose delivery another run moved on, sends nothing', async () => {
    const h = attemptWith({ callers: [moved], stale: true });
    await h.run();
    expect(h.sent).toEqual([]);
    expect(h.settled()).toBeUndefined();
    expect(logged).not.toHaveBeenCalled();
  });

  it("a retry is queued on the caller's own delivery queue, worked here before the job is sent", async () => {
    const h = attemptWith({ callers: [moved], status: 503 });
    await h.run();
    expect(h.worked).toEqual(['callback-delivery.bot']);
    expect(h.queued).toEqual([
      {
        queue: 'callback-delivery.bot',
        data: { deliveryId: h.row.id, attempt: 2, waitedMs: expect.any(Number), due: expect.any(Number) },
      },
    ]);
  });
});
