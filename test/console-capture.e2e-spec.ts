import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import request from 'supertest';
import { serviceReadiness } from '../src/app.factory';
import { type AdminListener, startAdminListener } from '../src/console/admin/admin-app';
import { AppConfig } from '../src/config';
import { REDACTED } from '../src/observability/redaction';
import { esRequest, LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { eventually } from './support/eventually';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

interface TurnDetail {
  turn: { id: string; requestId: string; captured: boolean };
  capture: null | {
    path: string;
    request: Record<string, unknown>;
    responseStatus: number;
    response: Record<string, unknown>;
    curl: string;
    canSendAgain: boolean;
  };
}

describe('operator console: request capture and the inspector (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;
  let admin: AdminListener;
  let adminUrl: string;
  let csrf: string;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        TURN_LOG_FLUSH_MS: '100',
        ADMIN_PORT: '0',
        TRACE_PARAMETER_ALLOWLIST: 'account_type',
        ADMIN_TRACE_URL: 'http://jaeger.test:16686/trace/{traceId}',
      },
    });
    admin = await startAdminListener(t.app, t.app.get(AppConfig), serviceReadiness(t.app));
    adminUrl = `http://127.0.0.1:${admin.port}`;
    const session = (await request(adminUrl).get('/api/session').expect(200)).body as {
      csrfToken: string;
      traceUrl: string;
    };
    csrf = session.csrfToken;
    // What the pages link each trace id to.
    expect(session.traceUrl).toBe('http://jaeger.test:16686/trace/{traceId}');
  });
  afterAll(async () => {
    await admin?.close();
    await t?.close();
  });

  /** A balance turn whose request holds a customer's id and a PIN said aloud; resolves with its turn log id. */
  async function balanceTurn(platformPath = '/v1/webhooks/dialogflow-es'): Promise<string> {
    const body = esRequest('GetAccountBalance', { user_id: '12345', account_type: 'checking' });
    (body.queryResult as { queryText: string }).queryText = 'my PIN is 9876';
    const requestId = String(body.responseId);
    await request(t.baseUrl).post(platformPath).set(LOCAL_DEV_AUTH).send(body).expect(200);
    return eventually(async () => {
      const { turns } = (await request(adminUrl).get('/api/turns?intent=GetAccountBalance').expect(200)).body as {
        turns: { id: string; requestId: string }[];
      };
      const row = turns.find((turn) => turn.requestId === requestId);
      expect(row).toBeDefined();
      return row!.id;
    });
  }
  const detail = async (id: string) => (await request(adminUrl).get(`/api/turns/${id}`).expect(200)).body as TurnDetail;
  const startCapture = (body: object) => request(adminUrl).post('/api/captures').set('X-CSRF-Token', csrf).send(body);

  it('keeps no bodies while no capture is on', async () => {
    const id = await balanceTurn();
    expect(await detail(id)).toMatchObject({ turn: { id, captured: false }, capture: null });
  });

  it('refuses a capture without a scope, with an unknown platform, too long, or without the CSRF token', async () => {
    const missing = await startCapture({ minutes: 5 }).expect(400);
    expect(missing.body).toMatchObject({ error: 'VALIDATION_FAILED', details: [{ field: 'platform' }] });
    await startCapture({ platform: 'telegram', minutes: 5 }).expect(400);
    await startCapture({ platform: 'generic', minutes: 24 * 60 + 1 }).expect(400);
    await startCapture({ callerId: 'bot; DROP TABLE', minutes: 5 }).expect(400);
    await request(adminUrl).post('/api/captures').send({ platform: 'generic', minutes: 5 }).expect(403);
    expect((await request(adminUrl).get('/api/captures').expect(200)).body).toEqual({ rules: [] });
  });

  it('captures the turns a rule matches, redacted like traces, with a curl that sends the request again as printed', async () => {
    const rule = (await startCapture({ platform: 'dialogflow-es', minutes: 5 }).expect(201)).body as {
      id: string;
      platform: string;
      createdBy: string;
      expiresAt: string;
    };
    expect(rule).toMatchObject({ platform: 'dialogflow-es', callerId: null, createdBy: 'local:local-operator' });
    expect(Date.parse(rule.expiresAt) - Date.now()).toBeGreaterThan(4 * 60_000);
    expect((await request(adminUrl).get('/api/captures').expect(200)).body.rules).toEqual([rule]);

    const id = await balanceTurn();
    const { turn, capture } = await detail(id);
    expect(turn.captured).toBe(true);
    expect(capture).toMatchObject({
      path: '/v1/webhooks/dialogflow-es',
      responseStatus: 200,
      request: {
        responseId: REDACTED,
        session: `projects/${REDACTED}/agent/sessions/${REDACTED}`,
        queryResult: {
          queryText: REDACTED,
          intent: { displayName: 'GetAccountBalance' },
          parameters: { user_id: REDACTED, account_type: 'checking' },
          // Where the dialogue stands, not who said what: kept, so the request sent again is the same turn.
          allRequiredParamsPresent: true,
          languageCode: 'en',
        },
      },
      response: { fulfillmentText: REDACTED },
      canSendAgain: true,
    });
    const stored = JSON.stringify(capture);
    expect(stored).not.toContain('12345');
    expect(stored).not.toContain('9876');

    // The command line, run by a shell exactly as the inspector shows it, reaches this instance.
    expect(capture!.curl).toContain(t.baseUrl);
    const { stdout } = await promisify(execFile)('sh', ['-c', `${capture!.curl} -w '\\n%{http_code}'`]);
    const [replyText, status] = stdout.trimEnd().split('\n');
    expect(status).toBe('200');
    expect(JSON.parse(replyText)).toHaveProperty('fulfillmentText');
  });

  it('sends a captured request again to this instance for an operator in development', async () => {
    const id = await balanceTurn();
    const sent = await request(adminUrl).post(`/api/turns/${id}/send-again`).set('X-CSRF-Token', csrf).expect(200);
    expect(sent.body).toMatchObject({ status: 200, body: { fulfillmentText: expect.any(String) } });
    await request(adminUrl).post(`/api/turns/${id}/send-again`).expect(403);
    const uncaptured = await request(adminUrl).post('/api/turns/1/send-again').set('X-CSRF-Token', csrf).expect(404);
    expect(uncaptured.body).toMatchObject({ error: 'NOT_FOUND', message: 'Turn 1 has no captured request.' });
  });

  it('stops capturing when the rule is ended, and says so for a rule not in force', async () => {
    const { rules } = (await request(adminUrl).get('/api/captures').expect(200)).body as { rules: { id: string }[] };
    await request(adminUrl).delete(`/api/captures/${rules[0].id}`).set('X-CSRF-Token', csrf).expect(204);
    await request(adminUrl).delete(`/api/captures/${rules[0].id}`).set('X-CSRF-Token', csrf).expect(404);
    await request(adminUrl).delete('/api/captures/abc').set('X-CSRF-Token', csrf).expect(400);
    const id = await balanceTurn();
    expect(await detail(id)).toMatchObject({ capture: null });
    await request(adminUrl).get('/api/turns/99999999').expect(404);
    await request(adminUrl).get('/api/turns/0').expect(400);
  });

  it('audits each capture started, read, sent again and ended', async () => {
    await eventually(async () => {
      const rows = await queryTestDatabase<{ reason: string }>(
        t.database.url,
        `SELECT reason FROM audit_events WHERE event = 'authz_admin' AND reason LIKE 'capture_%' ORDER BY id`,
      );
      expect(rows.map((row) => row.reason)).toEqual([
        'capture_start',
        'capture_view',
        'capture_send_again',
        'capture_end',
      ]);
    });
  });
});
