import request from 'supertest';
import { AuditLog } from '../src/audit/audit-log';
import { LOCAL_DEV_AUTH, README_REQUEST } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';
import { TestHandlersModule } from './support/test-handlers';

const PATH = '/v1/webhooks/dialogflow-es';

describe('hardening (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        JSON_MAX_DEPTH: '8',
        HTTP_HEADERS_TIMEOUT_MS: '4000',
        HTTP_REQUEST_TIMEOUT_MS: '9000',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '3000',
        AUDIT_RETENTION_DAYS: '30',
      },
      imports: [TestHandlersModule],
    });
  });
  afterAll(() => t.close());

  const raw = (text: string) =>
    request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).set('Content-Type', 'application/json').send(text);

  it('refuses JSON nested deeper than JSON_MAX_DEPTH with 400, counting brackets inside strings as text', async () => {
    const deep = `{"a":${'['.repeat(20)}${']'.repeat(20)}}`;
    const response = await raw(deep).expect(400);
    expect(response.body).toMatchObject({ error: 'MALFORMED_JSON', message: expect.stringContaining('deeper than 8') });
    const shallowWithBrackets = { ...README_REQUEST, note: '[[[[[[[[[[[[{{{{{{{{{{' };
    await raw(JSON.stringify(shallowWithBrackets)).expect(200);
  });

  it('refuses __proto__, constructor and prototype keys instead of letting them reach an object', async () => {
    const body = JSON.stringify(README_REQUEST).replace(
      '"parameters":{',
      '"parameters":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},',
    );
    const response = await raw(body).expect(400);
    expect(response.body).toMatchObject({
      error: 'MALFORMED_JSON',
      details: [{ field: 'queryResult.parameters.__proto__' }],
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('sends no X-Powered-By header', async () => {
    const response = await request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).send(README_REQUEST).expect(200);
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('bounds slow clients with header, request and keep-alive timeouts', () => {
    const server = t.app.getHttpServer();
    expect([server.headersTimeout, server.requestTimeout, server.keepAliveTimeout]).toEqual([4000, 9000, 3000]);
  });

  it('refuses two Authorization headers (Node would keep only the first) with 400', async () => {
    const { request: httpRequest } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${t.baseUrl}${PATH}`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.setHeader('Content-Type', 'application/json');
      req.setHeader('Authorization', ['Bearer local-dev-token', 'Bearer someone-else-token']);
      req.end(JSON.stringify(README_REQUEST));
    });
    expect(status).toBe(400);
  });

  it('never echoes a token in an error', async () => {
    const response = await request(t.baseUrl)
      .post(PATH)
      .set('Authorization', 'Bearer super-secret-token-value-123')
      .send(README_REQUEST)
      .expect(401);
    expect(response.text).not.toContain('super-secret-token-value-123');
  });

  it('keeps serving when the Redis behind rate limiting is down (fails open)', async () => {
    const noRedis = await startTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      for (let i = 0; i < 3; i++) {
        await request(noRedis.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).send(README_REQUEST).expect(200);
      }
    } finally {
      await noRedis.close();
    }
  });

  it('does not serve the OpenAPI document when OPENAPI_ENABLED=false', async () => {
    const closed = await startTestApp({ env: { OPENAPI_ENABLED: 'false' } });
    try {
      await request(closed.baseUrl).get('/openapi.json').expect(404);
      await request(closed.baseUrl).get('/docs').expect(404);
    } finally {
      await closed.close();
    }
  });

  describe('audit trail', () => {
    it('is append-only: updates are refused by the database', async () => {
      t.app.get(AuditLog).record({ event: 'authn_login_fail', outcome: 'failure', reason: 'test' });
      await t.app.get(AuditLog).flush();
      await expect(queryTestDatabase(t.database.url, `UPDATE audit_events SET reason = 'changed'`)).rejects.toThrow(
        /append-only/,
      );
    });

    it('deletes rows older than the retention period and keeps the rest', async () => {
      await queryTestDatabase(
        t.database.url,
        `ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
         INSERT INTO audit_events (occurred_at, event, caller_id, outcome) VALUES
           (now() - interval '31 days', 'authn_login_fail', 'old', 'failure'),
           (now() - interval '29 days', 'authn_login_fail', 'recent', 'failure');
         ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;`,
      );
      await t.app.get(AuditLog).purge();
      const callers = await queryTestDatabase<{ caller_id: string }>(
        t.database.url,
        `SELECT caller_id FROM audit_events WHERE caller_id IN ('old', 'recent')`,
      );
      expect(callers.map((row) => row.caller_id)).toEqual(['recent']);
    });

    it('flushes queued events when the application shuts down', async () => {
      const other = await startTestApp();
      other.app.get(AuditLog).record({ event: 'authz_fail', outcome: 'failure', callerId: 'shutdown-check' });
      const url = other.database.url;
      await other.app.close();
      const rows = await queryTestDatabase(url, `SELECT 1 FROM audit_events WHERE caller_id = 'shutdown-check'`);
      expect(rows).toHaveLength(1);
      await other.database.drop();
    });
  });
});
