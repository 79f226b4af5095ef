import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalServer, nowSeconds } from '../src/auth/tokens/testing/local-server';
import { README_REQUEST } from './support/dialogflow-es.fixtures';
import { sendRaw } from './support/raw-http';
import { startTestApp, TestApp } from './support/test-app';

const INTROSPECT = '/oauth2/introspect';
const CLIENT_SECRET = `introspection-secret-${randomBytes(8).toString('hex')}`;

/**
 * Two callers whose tokens one authorisation server introspects with the same client, each for its own audience
 * (a real RFC 7662 server on 127.0.0.1, the app on a real port). Each caller's audience must hold for it: the
 * introspector, kept per endpoint and client, was the first caller's, so a token for caller A's audience, refused
 * by A for its subject, was accepted as caller B.
 */
describe('token introspection: each caller its own audience (real HTTP)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-introspection-audience-'));
  let server: LocalServer;
  let t: TestApp;
  const active = new Map<string, Record<string, unknown>>();

  const send = (token: string) =>
    sendRaw(t.baseUrl, '/v1/webhooks/dialogflow-es', {
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify(README_REQUEST),
    });
  const token = (claims: Record<string, unknown>): string => {
    const value = `opaque-${randomBytes(18).toString('hex')}`;
    active.set(value, { active: true, exp: nowSeconds() + 600, ...claims });
    return value;
  };

  beforeAll(async () => {
    server = await LocalServer.start();
    server.route('POST', INTROSPECT, (request) => {
      const expected = `Basic ${Buffer.from(`shared-client:${CLIENT_SECRET}`).toString('base64')}`;
      if (request.headers.authorization !== expected) return { status: 401, json: { error: 'invalid_client' } };
      return { json: active.get(new URLSearchParams(request.body).get('token') ?? '') ?? { active: false } };
    });
    const introspection = (audience: string, subjects: string) =>
      `{ introspection: { endpoint: "${server.url(INTROSPECT)}", clientId: shared-client, clientSecrets: [${CLIENT_SECRET}], audience: ${audience}, subjects: [${subjects}] } }`;
    const file = join(dir, 'callers.yaml');
    writeFileSync(
      file,
      [
        'callers:',
        '  - id: caller-a',
        '    platforms: [dialogflow-es]',
        `    auth: ${introspection('api-a', 'alice')}`,
        '  - id: caller-b',
        '    platforms: [dialogflow-es]',
        `    auth: ${introspection('api-b', 'alice, mallory')}`,
        '',
      ].join('\n'),
    );
    t = await startTestApp({ env: { CALLERS_FILE: file } });
  });

  afterAll(async () => {
    await t?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("accepts a token for a caller's own audience and subject", async () => {
    expect((await send(token({ sub: 'alice', aud: 'api-a' }))).status).toBe(200);
    expect((await send(token({ sub: 'mallory', aud: 'api-b' }))).status).toBe(200);
  });

  it('introspects a JWT-shaped access token whose issuer no caller verifies itself (Keycloak, Okta, Entra ID)', async () => {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const jwt = `${part({ alg: 'RS256', typ: 'at+jwt' })}.${part({ iss: 'https://idp.example', sub: 'alice' })}.${randomBytes(32).toString('base64url')}`;
    active.set(jwt, { active: true, exp: nowSeconds() + 600, sub: 'alice', aud: 'api-a' });
    expect((await send(jwt)).status).toBe(200);
    // Not active: refused as any unknown token.
    expect((await send(`${part({ alg: 'RS256' })}.${part({ sub: 'x' })}.c2ln`)).status).toBe(401);
  });

  it("refuses a token for caller A's audience whose subject only caller B allows", async () => {
    const response = await send(token({ sub: 'mallory', aud: 'api-a' }));
    expect(response.status).toBe(401);
    expect(response.json()).toMatchObject({ error: 'UNAUTHENTICATED' });
  });
});

/**
 * Two organisations' callers, each with its own authorisation server. An opaque token names no issuer, so the
 * endpoints are asked in turn; a caller bound to a client certificate is asked only on a connection presenting it,
 * so bank B's token never reaches bank A's server (before, it went there first).
 */
describe("token introspection: a certificate-bound caller's server never sees another's token (real HTTP)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-introspection-bound-'));
  const servers: Record<'a' | 'b', { server?: LocalServer; seen: string[] }> = { a: { seen: [] }, b: { seen: [] } };
  let t: TestApp;
  const tokenB = `opaque-${randomBytes(18).toString('hex')}`;

  beforeAll(async () => {
    for (const [name, entry] of Object.entries(servers)) {
      const server = await LocalServer.start();
      server.route('POST', INTROSPECT, (request) => {
        const token = new URLSearchParams(request.body).get('token') ?? '';
        entry.seen.push(token);
        return {
          json:
            name === 'b' && token === tokenB
              ? { active: true, exp: nowSeconds() + 600, client_id: 'bank-b-bot' }
              : { active: false },
        };
      });
      entry.server = server;
    }
    const introspection = (name: 'a' | 'b') =>
      `{ introspection: { endpoint: "${servers[name].server!.url(INTROSPECT)}", clientId: bank-${name}, clientSecrets: [${CLIENT_SECRET}], clientIds: [bank-${name}-bot] } }`;
    const file = join(dir, 'callers.yaml');
    writeFileSync(
      file,
      [
        'callers:',
        '  - id: bank-a',
        '    platforms: [dialogflow-es]',
        '    certificate: { uriSAN: spiffe://bank-a.example/bot }',
        `    auth: ${introspection('a')}`,
        '  - id: bank-b',
        '    platforms: [dialogflow-es]',
        `    auth: ${introspection('b')}`,
        '',
      ].join('\n'),
    );
    t = await startTestApp({ env: { CALLERS_FILE: file } });
  });

  afterAll(async () => {
    await t?.close();
    await Promise.all(Object.values(servers).map(async (entry) => entry.server?.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends bank B's token to bank B's server only, on a connection without bank A's certificate", async () => {
    const response = await sendRaw(t.baseUrl, '/v1/webhooks/dialogflow-es', {
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tokenB}` },
      body: JSON.stringify(README_REQUEST),
    });
    expect(response.status).toBe(200);
    expect(servers.b.seen).toEqual([tokenB]);
    expect(servers.a.seen).toEqual([]);
  });
});
