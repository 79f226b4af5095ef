import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  closedUrl,
  LocalServer,
  makeKey,
  nowSeconds,
  signJwt,
  type TestKey,
} from '../src/auth/tokens/testing/local-server';
import { waitForAuditRow } from './support/audit-events';
import { README_REQUEST } from './support/dialogflow-es.fixtures';
import { type RawResponse, sendRaw } from './support/raw-http';
import { startTestApp, type TestApp } from './support/test-app';

const PATH = '/v1/webhooks/dialogflow-es';
const INTROSPECT = '/oauth2/introspect';
const SECRET = `introspection-secret-${randomBytes(8).toString('hex')}`;
const ISSUER = 'https://idp.bank.example/';

/**
 * A token whose verifier cannot be reached (its introspection endpoint or key set is down) is answered 503 with
 * Retry-After, as the replay window's outage is: a 401 told OAuth clients their good token was bad, and they threw it
 * away. Real HTTP servers on 127.0.0.1; "down" is a port nothing listens on.
 */
describe('bearer tokens whose verifier is down (real HTTP, real PostgreSQL)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-verifier-down-'));
  let up: LocalServer;
  let key: TestKey;
  let t: TestApp;

  const send = (token: string): Promise<RawResponse> =>
    sendRaw(t.baseUrl, PATH, {
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify(README_REQUEST),
    });

  async function expectUnavailable(response: RawResponse, detail: string): Promise<void> {
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.headers['www-authenticate']).toBeUndefined();
    const body = response.json<{ requestId: string }>();
    expect(body).toEqual({
      statusCode: 503,
      error: 'UNAVAILABLE',
      message: 'The credential cannot be checked now; retry shortly.',
      requestId: expect.any(String),
    });
    const row = await waitForAuditRow(t.database.url, (r) => r.request_id === body.requestId);
    expect(row).toMatchObject({ event: 'authn_login_fail', method: 'bearer', reason: 'verifier-unavailable', detail });
  }

  beforeAll(async () => {
    key = await makeKey('k-1');
    up = await LocalServer.start();
    up.route('POST', INTROSPECT, (request) => {
      const token = new URLSearchParams(request.body).get('token');
      return { json: token === 'opaque-of-the-up-server' ? { active: true, sub: 'svc-up' } : { active: false } };
    });
    const introspection = (endpoint: string, subject: string) =>
      `{ introspection: { endpoint: "${endpoint}", clientId: bot, clientSecrets: [${SECRET}], subjects: [${subject}] } }`;
    const file = join(dir, 'callers.yaml');
    writeFileSync(
      file,
      [
        'callers:',
        '  - id: introspected-down',
        '    platforms: [dialogflow-es]',
        `    auth: ${introspection(await closedUrl(INTROSPECT), 'svc-down')}`,
        '  - id: introspected-up',
        '    platforms: [dialogflow-es]',
        `    auth: ${introspection(up.url(INTROSPECT), 'svc-up')}`,
        '  - id: jwt-keys-down',
        '    platforms: [dialogflow-es]',
        `    auth: { jwt: { issuer: "${ISSUER}", audience: webhook, jwksUri: "${await closedUrl('/jwks')}" } }`,
        '',
      ].join('\n'),
    );
    t = await startTestApp({ env: { CALLERS_FILE: file, AUDIT_MAX_PER_SOURCE: '0' } });
  });

  afterAll(async () => {
    await t?.close();
    await up?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After to an opaque token while an introspection endpoint that may know it is down', async () => {
    // The first endpoint is down, the second does not know the token: whether it is good is not known.
    await expectUnavailable(await send(`opaque-${randomBytes(12).toString('hex')}`), 'introspection-unavailable');
  });

  it('still serves a token another endpoint knows', async () => {
    expect((await send('opaque-of-the-up-server')).status).toBe(200);
  });

  it('answers 503 with Retry-After to a JWT whose key set cannot be fetched', async () => {
    const token = await signJwt(key, {
      iss: ISSUER,
      aud: 'webhook',
      sub: 'bot',
      iat: nowSeconds(),
      exp: nowSeconds() + 300,
    });
    await expectUnavailable(await send(token), 'jwks-unavailable');
  });
});
