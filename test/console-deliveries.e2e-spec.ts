import { dump as toYaml } from 'js-yaml';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { type AdminListener, startAdminListener } from '../src/console/admin/admin-app';
import { serviceReadiness } from '../src/app.factory';
import { AppConfig } from '../src/config';
import { maskedUrl } from '../src/console/admin/masked-url';
import { type CallbackReceiver, eventually, startCallbackReceiver, verifyCallback } from './support/callback-receiver';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

const TOKEN = `bot-${randomBytes(16).toString('hex')}`;
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/** Dead callbacks in the console: listed with their last error, replayed by an operator, every action audited. */
describe('operator console: dead deliveries and replay (real receiver, real PostgreSQL, pg-boss)', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'wf-console-deliveries-'));
  let receiver: CallbackReceiver;
  let t: TestApp;
  let admin: AdminListener;
  let adminUrl: string;

  beforeAll(async () => {
    receiver = await startCallbackReceiver(() => 503);
    const callersFile = join(workDir, 'callers.yaml');
    writeFileSync(
      callersFile,
      toYaml({
        callers: [
          {
            id: 'statement-bot',
            platforms: ['generic'],
            auth: { bearer: { tokens: [TOKEN] } },
            callback: { url: receiver.url, secrets: [SECRET], allowPrivateNetwork: true },
          },
        ],
      }),
    );
    t = await startTestApp({
      env: {
        CALLERS_FILE: callersFile,
        ASYNC_POLL_INTERVAL_MS: '500',
        CALLBACK_RETRY_SCHEDULE: '100ms',
        CALLBACK_RETRY_HORIZON_HOURS: '0',
        CALLBACK_TIMEOUT_MS: '2000',
        ADMIN_PORT: '0',
      },
    });
    admin = await startAdminListener(t.app, t.app.get(AppConfig), serviceReadiness(t.app));
    adminUrl = `http://127.0.0.1:${admin.port}`;
  });
  afterAll(async () => {
    await admin?.close();
    await t?.close();
    await receiver?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  const csrf = async () => (await request(adminUrl).get('/api/session').expect(200)).body.csrfToken as string;
  const auditRows = (reason: string) =>
    queryTestDatabase<{ event: string; caller_id: string; detail: string | null; outcome: string }>(
      t.database.url,
      `SELECT event, caller_id, detail, outcome FROM audit_events WHERE reason = $1 ORDER BY id`,
      [reason],
    );

  /** A RequestStatement turn: async, so its result goes to the caller's callback URL. */
  async function requestStatement(): Promise<void> {
    await request(t.baseUrl)
      .post('/v1/webhooks/generic')
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({
        requestId: `r-${randomUUID()}`,
        sessionId: 's',
        intent: 'RequestStatement',
        parameters: { user_id: '12345', account_type: 'checking' },
      })
      .expect(200);
  }

  /** A RequestStatement turn whose callback the receiver refuses until it dies. */
  async function deadDelivery(): Promise<string> {
    await requestStatement();
    return eventually(async () => {
      const { deliveries } = (await request(adminUrl).get('/api/deliveries?status=dead').expect(200)).body as {
        deliveries: { id: string; lastStatus: number; lastError: string | null; attempts: number }[];
      };
      expect(deliveries.length).toBeGreaterThan(0);
      expect(deliveries[0]).toMatchObject({ lastStatus: 503, attempts: 2 });
      return deliveries[0].id;
    }, 15_000);
  }

  it('replays a dead delivery for an operator with a CSRF token; the receiver gets it with a valid signature', async () => {
    const id = await deadDelivery();
    receiver.respondWith(() => 204);
    const before = receiver.received.length;

    // Without the token: refused and audited, and nothing is sent.
    await request(adminUrl)
      .post('/api/deliveries/replay')
      .send({ ids: [id] })
      .expect(403);
    // The audit log writes in batches.
    await eventually(async () =>
      expect(await auditRows('console_csrf')).toEqual([
        expect.objectContaining({ event: 'authz_fail', caller_id: 'console:local-operator', outcome: 'failure' }),
      ]),
    );

    const response = await request(adminUrl)
      .post('/api/deliveries/replay')
      .set('X-CSRF-Token', await csrf())
      .send({ ids: [id, `msg_${'0'.repeat(32)}`] })
      .expect(200);
    expect(response.body.replayed).toEqual([expect.objectContaining({ id, status: 'pending', attempts: 0 })]);
    expect(response.body.notReplayable).toEqual([`msg_${'0'.repeat(32)}`]);

    const delivered = await eventually(() => {
      const callback = receiver.received.slice(before).find((entry) => entry.headers['webhook-id'] === id);
      expect(callback).toBeDefined();
      return callback!;
    }, 15_000);
    expect(verifyCallback(delivered, SECRET)).toMatchObject({ ok: true });
    await eventually(async () => {
      const [row] = await queryTestDatabase<{ status: string }>(
        t.database.url,
        'SELECT status FROM callback_deliveries WHERE id = $1',
        [id],
      );
      expect(row.status).toBe('delivered');
    });
    await eventually(async () =>
      expect(await auditRows('delivery_replay')).toEqual([
        expect.objectContaining({
          event: 'authz_admin',
          caller_id: 'console:local-operator',
          // The URL's path may hold the receiver's secret: the audit keeps its origin and a digest of the rest.
          detail: `${id} to ${maskedUrl(receiver.url)}`,
        }),
      ]),
    );
    // Delivered now: a second replay finds nothing to replay.
    const again = await request(adminUrl)
      .post('/api/deliveries/replay')
      .set('X-CSRF-Token', await csrf())
      .send({ ids: [id] })
      .expect(200);
    expect(again.body).toEqual({ replayed: [], notReplayable: [id] });
  });

  it('disables a callback URL: the next delivery to it settles as disabled, unsent', async () => {
    receiver.respondWith(() => 204);
    await request(adminUrl)
      .post('/api/deliveries/disable-url')
      .set('X-CSRF-Token', await csrf())
      .send({ callerId: 'statement-bot', url: receiver.url })
      .expect(200, { disabled: true });
    const before = receiver.received.length;
    await requestStatement();
    await eventually(async () => {
      const { deliveries } = (await request(adminUrl).get('/api/deliveries?status=disabled').expect(200)).body as {
        deliveries: unknown[];
      };
      expect(deliveries).toHaveLength(1);
    }, 15_000);
    expect(receiver.received.length).toBe(before);
    await eventually(async () => expect(await auditRows('callback_url_disable')).toHaveLength(1));
  });

  it('refuses a malformed action body with a JSON 400 naming the field', async () => {
    const token = await csrf();
    const bad = await request(adminUrl)
      .post('/api/deliveries/replay')
      .set('X-CSRF-Token', token)
      .send({ ids: ["'; DROP TABLE callback_deliveries; --"] })
      .expect(400);
    expect(bad.body).toMatchObject({
      error: 'VALIDATION_FAILED',
      details: [expect.objectContaining({ field: 'ids' })],
    });
    await request(adminUrl).post('/api/deliveries/replay').set('X-CSRF-Token', token).send({ ids: [] }).expect(400);
    await request(adminUrl)
      .post('/api/deliveries/disable-url')
      .set('X-CSRF-Token', token)
      .send({ callerId: 'statement-bot', url: 'javascript:alert(1)' })
      .expect(400);
    // A URL the callers file accepts is one an operator can disable: an underscore in a host name (a Kubernetes
    // Service name in some clusters' DNS) was refused by the validator's own URL rules.
    await request(adminUrl)
      .post('/api/deliveries/disable-url')
      .set('X-CSRF-Token', token)
      .send({ callerId: 'statement-bot', url: 'http://bot_receiver:8080/results' })
      .expect(200, { disabled: true });
    await request(adminUrl)
      .post('/api/deliveries/disable-url')
      .set('X-CSRF-Token', token)
      .send({ callerId: 'statement-bot', url: `https://bot.example/${'x'.repeat(2048)}` })
      .expect(400);
  });
});
