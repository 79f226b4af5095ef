import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalServer, nowSeconds } from '../src/auth/tokens/testing/local-server';
import { auditRows, waitForAuditRow } from './support/audit-events';
import { eventually } from './support/eventually';
import { README_REQUEST } from './support/dialogflow-es.fixtures';
import { type RawResponse, sendRaw } from './support/raw-http';
import { startTestApp, TestApp } from './support/test-app';

const PATH = '/v1/webhooks/dialogflow-es';
const INTROSPECT = '/oauth2/introspect';
const CLIENT_SECRET = `introspection-secret-${randomBytes(8).toString('hex')}`;
/** The introspector's defaults (src/auth/tokens/introspection.ts). */
const BURST = 20;
const PER_SECOND = 10;
const UNAUTHENTICATED = { statusCode: 401, error: 'UNAUTHENTICATED', message: 'Missing or invalid credentials.' };

/** An opaque token (not JWT-shaped), different every time. */
const randomToken = (): string => `opaque-${randomBytes(18).toString('hex')}`;

/**
 * RFC 7662 introspection caching and the outbound budget, end to end: the app on a real port, a real RFC 7662
 * server on 127.0.0.1 that counts its calls, real PostgreSQL for the audit trail.
 */
describe('token introspection: negative cache and outbound budget (real HTTP)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-introspection-'));
  let server: LocalServer;
  let t: TestApp;
  /** What the authorisation server answers per token; anything else is inactive. */
  const active = new Map<string, Record<string, unknown>>();

  const send = (token: string, requestId = `introspect-${randomBytes(8).toString('hex')}`): Promise<RawResponse> =>
    sendRaw(t.baseUrl, PATH, {
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-Request-Id': requestId },
      body: JSON.stringify(README_REQUEST),
    });
  const calls = (token?: string): number =>
    server
      .requests(INTROSPECT)
      .filter((request) => token === undefined || new URLSearchParams(request.body).get('token') === token).length;

  function expectUnauthenticated(response: RawResponse, token: string): void {
    expect(response.status).toBe(401);
    expect(response.json()).toEqual({ ...UNAUTHENTICATED, requestId: expect.any(String) });
    expect(response.text).not.toContain(token);
  }

  beforeAll(async () => {
    server = await LocalServer.start();
    server.route('POST', INTROSPECT, (request) => {
      const expected = `Basic ${Buffer.from(`introspect-bot:${CLIENT_SECRET}`).toString('base64')}`;
      if (request.headers.authorization !== expected) return { status: 401, json: { error: 'invalid_client' } };
      const token = new URLSearchParams(request.body).get('token') ?? '';
      return { json: active.get(token) ?? { active: false } };
    });
    const file = join(dir, 'callers.yaml');
    writeFileSync(
      file,
      [
        'callers:',
        '  - id: introspect-bot',
        '    platforms: [dialogflow-es]',
        `    auth: { introspection: { endpoint: "${server.url(INTROSPECT)}", clientId: introspect-bot, clientSecrets: [${CLIENT_SECRET}], subjects: [svc-a] } }`,
        '',
      ].join('\n'),
    );
    // Every refusal of the flood below gets its own audit row (no cap per address).
    t = await startTestApp({ env: { CALLERS_FILE: file, AUDIT_MAX_PER_SOURCE: '0' } });
  });

  afterAll(async () => {
    await t?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('asks once for an unknown token sent again and again (inactive answers are cached)', async () => {
    const token = randomToken();
    for (let i = 0; i < 5; i++) expectUnauthenticated(await send(token), token);
    expect(calls(token)).toBe(1);
    // Still remembered after several seconds (the refusal is kept for 30 s).
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expectUnauthenticated(await send(token), token);
    expect(calls(token)).toBe(1);
  }, 15_000);

  it('writes a refused token into no audit row', async () => {
    const token = randomToken();
    const requestId = `introspect-hidden-${randomBytes(4).toString('hex')}`;
    expectUnauthenticated(await send(token, requestId), token);
    await waitForAuditRow(t.database.url, (row) => row.request_id === requestId);
    expect(JSON.stringify(await auditRows(t.database.url))).not.toContain(token);
  });

  it('reuses an active answer, but never past the token exp', async () => {
    const token = randomToken();
    active.set(token, { active: true, sub: 'svc-a', exp: nowSeconds() + 2 });
    expect((await send(token)).status).toBe(200);
    expect((await send(token)).status).toBe(200);
    expect(calls(token)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 3_100));
    active.set(token, { active: false });
    expectUnauthenticated(await send(token), token);
    expect(calls(token)).toBe(2);
  });

  it('bounds the outbound calls a flood of distinct random tokens causes, refusing the excess 401 without a call', async () => {
    const known = randomToken();
    active.set(known, { active: true, sub: 'svc-a', exp: nowSeconds() + 600 });
    expect((await send(known)).status).toBe(200);
    // Let the budget fill up again after the earlier tests.
    await new Promise((resolve) => setTimeout(resolve, ((BURST + 2) / PER_SECOND) * 1000));

    const before = calls();
    const started = Date.now();
    const flood = Array.from({ length: 120 }, randomToken);
    const ids = flood.map((_, i) => `introspect-flood-${i}-${randomBytes(4).toString('hex')}`);
    const responses = await Promise.all(flood.map((token, i) => send(token, ids[i])));
    const elapsedSeconds = (Date.now() - started) / 1000;
    responses.forEach((response, i) => expectUnauthenticated(response, flood[i]));

    const made = calls() - before;
    expect(made).toBeGreaterThan(0);
    expect(made).toBeLessThanOrEqual(BURST + Math.ceil(elapsedSeconds * PER_SECOND));
    expect(made).toBeLessThan(flood.length);

    // A caller whose token is already cached is not affected by the flood.
    expect((await send(known)).status).toBe(200);
    expect(calls(known)).toBe(1);

    // Every refusal is audited alike, the throttled ones (no lookup made) as the ones the server called inactive.
    const rows = await eventually(async () => {
      const found = (await auditRows(t.database.url)).filter((row) => ids.includes(row.request_id ?? ''));
      expect(found).toHaveLength(flood.length);
      return found;
    });
    for (const row of rows) {
      expect(row).toMatchObject({ event: 'authn_login_fail', method: 'bearer', reason: 'token-rejected' });
    }
  });
});
