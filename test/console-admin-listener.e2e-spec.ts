import { connect } from 'node:net';
import { Client } from 'pg';
import { serviceReadiness } from '../src/app.factory';
import { type AdminListener, startAdminListener } from '../src/console/admin/admin-app';
import { AppConfig } from '../src/config';
import { eventually } from './support/eventually';
import { sendRaw } from './support/raw-http';
import { startTestApp, type TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

/**
 * The admin listener as the webhook port is: what Node's HTTP parser refuses and a request without Host are
 * answered as JSON, and an audit export that meets PostgreSQL unavailable is the console's 503, not a 200 cut short.
 */
describe('operator console: the admin listener meets malformed HTTP and an unavailable PostgreSQL', () => {
  let t: TestApp;
  let admin: AdminListener;
  let adminUrl: string;
  let held: Client | undefined;

  beforeAll(async () => {
    t = await startTestApp({ env: { ADMIN_PORT: '0', DB_STATEMENT_TIMEOUT_MS: '400' } });
    admin = await startAdminListener(t.app, t.app.get(AppConfig), serviceReadiness(t.app));
    adminUrl = `http://127.0.0.1:${admin.port}`;
  });
  afterEach(async () => {
    await held?.query('ROLLBACK');
    await held?.end();
    held = undefined;
  });
  afterAll(async () => {
    await admin?.close();
    await t?.close();
  });

  /** What the admin listener answers to `text` written on a fresh connection, read until it closes. */
  const exchange = (text: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(admin.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.once('error', reject);
      socket.once('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.write(text);
    });

  const exports = async () =>
    (
      await queryTestDatabase<{ detail: string }>(
        t.database.url,
        "SELECT detail FROM audit_events WHERE reason = 'audit_export' ORDER BY id",
      )
    ).map((row) => row.detail);

  it("answers what Node's parser refuses as JSON, not a bare 400", async () => {
    const answer = await exchange('GET /api/turns HTTP/1.1\r\nHost: 127.0.0.1\r\nNot a header\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nContent-Type: application\/json/);
    expect(answer).toContain('"message":"The request is not valid HTTP."');
  });

  it('answers an HTTP/1.1 request without Host as JSON MALFORMED_REQUEST', async () => {
    const answer = await exchange('GET /api/session HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('"error":"MALFORMED_REQUEST"');
    expect(answer).toContain('An HTTP/1.1 request must have a Host header.');
  });

  it('answers a path whose percent-encoding does not decode as MALFORMED_REQUEST (it said MALFORMED_JSON)', async () => {
    const answer = await sendRaw(adminUrl, '/api/turns/%E0%A4%A', { method: 'GET' });
    expect(answer.status).toBe(400);
    expect(answer.json()).toMatchObject({ error: 'MALFORMED_REQUEST' });
  });

  it('answers an audit export that meets PostgreSQL unavailable with 503 and Retry-After, and audits no export', async () => {
    held = new Client({ connectionString: t.database.url });
    await held.connect();
    await held.query('BEGIN');
    await held.query('LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE');
    const refused = await sendRaw(adminUrl, '/api/audit/export?caller=while-locked', { method: 'GET' });
    expect({ status: refused.status, retryAfter: refused.headers['retry-after'], body: refused.json() }).toEqual({
      status: 503,
      retryAfter: '5',
      body: expect.objectContaining({ statusCode: 503, error: 'UNAVAILABLE' }),
    });
    await held.query('ROLLBACK');

    const served = await sendRaw(adminUrl, '/api/audit/export?caller=once-open', { method: 'GET' });
    expect(served.status).toBe(200);
    expect(served.text.split('\r\n')[0]).toMatch(/^"id","occurredAt",/);
    // Rows are written in the order they were recorded: once the second is there, the first would be too.
    await eventually(async () => expect(await exports()).toEqual(['caller=once-open']));
  });
});
