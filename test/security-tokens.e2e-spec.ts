import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import {
  base64url,
  LocalServer,
  makeKey,
  nowSeconds,
  serveJwks,
  signJwt,
  TestKey,
} from '../src/auth/tokens/testing/local-server';
import { README_REQUEST } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

const PATH = '/v1/webhooks/dialogflow-es';
const AUDIENCE = 'webhook-fulfillment';
const GOOGLE_AUDIENCE = 'https://webhook.bank.example/v1/webhooks/dialogflow-es';
const DIALOGFLOW_SA = 'service-123@gcp-sa-dialogflow.iam.gserviceaccount.com';
const K8S_SA = 'system:serviceaccount:bots:dialogflow';
const INTROSPECTION_SECRET = 'introspection-client-secret-0123';

interface AuditRow extends Record<string, unknown> {
  event: string;
  caller_id: string;
  reason: string | null;
  detail: string | null;
}

/**
 * Bearer tokens end to end: OAuth2 JWTs against a JWKS, Google-signed ID tokens, Kubernetes service-account
 * tokens found by OIDC discovery, and opaque tokens by RFC 7662 introspection — each issuer a real HTTP
 * server on 127.0.0.1 that this test runs.
 */
describe('bearer tokens from real local issuers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-tokens-'));
  let issuer: LocalServer;
  let t: TestApp;
  let oauthKey: TestKey;
  let googleKey: TestKey;
  let k8sKey: TestKey;
  let strayKey: TestKey;

  const oauthIssuer = () => issuer.url('/oauth');
  const k8sIssuer = () => issuer.url('/k8s');
  const send = (token: string) =>
    request(t.baseUrl).post(PATH).set('Authorization', `Bearer ${token}`).send(README_REQUEST);

  async function auditRows(): Promise<AuditRow[]> {
    return queryTestDatabase<AuditRow>(t.database.url, 'SELECT * FROM audit_events ORDER BY id');
  }

  async function expectRefused(token: string, reason: string, detail?: string): Promise<void> {
    const before = (await auditRows()).length;
    const response = await send(token);
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ error: 'UNAUTHENTICATED', message: 'Missing or invalid credentials.' });
    expect(response.text).not.toContain(token);
    let rows: AuditRow[] = [];
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      rows = (await auditRows()).slice(before);
      if (rows.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ event: 'authn_login_fail', reason, ...(detail && { detail }) });
    expect(JSON.stringify(rows[0])).not.toContain(token);
  }

  const oauthToken = (claims: Record<string, unknown> = {}, key = oauthKey, header = {}) =>
    signJwt(
      key,
      { iss: oauthIssuer(), aud: AUDIENCE, sub: 'bot-1', iat: nowSeconds(), exp: nowSeconds() + 300, ...claims },
      header,
    );

  beforeAll(async () => {
    issuer = await LocalServer.start();
    [oauthKey, googleKey, k8sKey] = await Promise.all([makeKey('oauth-1'), makeKey('google-1'), makeKey('k8s-1')]);
    strayKey = await makeKey('oauth-1'); // same kid, but not the published key
    serveJwks(issuer, '/oauth/jwks', () => [oauthKey]);
    serveJwks(issuer, '/google/certs', () => [googleKey]);
    serveJwks(issuer, '/k8s/jwks', () => [k8sKey]);
    issuer.route('GET', '/k8s/.well-known/openid-configuration', () => ({
      json: { issuer: k8sIssuer(), jwks_uri: issuer.url('/k8s/jwks') },
    }));
    issuer.route('POST', '/introspect', (req) => {
      const token = new URLSearchParams(req.body).get('token');
      const clientAuth = Buffer.from(`introspect-bot:${INTROSPECTION_SECRET}`).toString('base64');
      if (req.headers.authorization !== `Basic ${clientAuth}`)
        return { status: 401, json: { error: 'invalid_client' } };
      return token === 'opaque-good-token-0001'
        ? { json: { active: true, sub: 'svc-a', exp: nowSeconds() + 300, client_id: 'svc-a' } }
        : token === 'opaque-other-subject-01'
          ? { json: { active: true, sub: 'svc-b', exp: nowSeconds() + 300 } }
          : token === 'opaque-other-client-001'
            ? { json: { active: true, sub: 'svc-a', exp: nowSeconds() + 300, client_id: 'some-other-app' } }
            : { json: { active: false } };
    });

    const file = join(dir, 'callers.yaml');
    writeFileSync(
      file,
      [
        'callers:',
        '  - id: oauth-bot',
        '    platforms: [dialogflow-es]',
        `    auth: { jwt: { issuer: "${oauthIssuer()}", audience: ${AUDIENCE}, jwksUri: "${issuer.url('/oauth/jwks')}", subjects: [bot-1] } }`,
        '  - id: google-bot',
        '    platforms: [dialogflow-es]',
        `    auth: { googleIdToken: { audience: "${GOOGLE_AUDIENCE}", emails: [${DIALOGFLOW_SA}], jwksUri: "${issuer.url('/google/certs')}" } }`,
        '  - id: k8s-bot',
        '    platforms: [dialogflow-es]',
        `    auth: { kubernetes: { issuer: "${k8sIssuer()}", audience: webhook, serviceAccounts: ["${K8S_SA}"] } }`,
        '  - id: introspect-bot',
        '    platforms: [dialogflow-es]',
        `    auth: { introspection: { endpoint: "${issuer.url('/introspect')}", clientId: introspect-bot, clientSecrets: [${INTROSPECTION_SECRET}], subjects: [svc-a], clientIds: [svc-a] } }`,
        '',
      ].join('\n'),
    );
    t = await startTestApp({ env: { CALLERS_FILE: file } });
  });

  afterAll(async () => {
    await t?.close();
    await issuer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('OAuth2 JWT', () => {
    it('accepts a valid token', async () => {
      const response = await send(await oauthToken());
      expect(response.status).toBe(200);
      expect(response.body.fulfillmentText).toContain('$3,247.82');
    });

    it('accepts a token expired within the 60 s clock skew', async () => {
      expect((await send(await oauthToken({ exp: nowSeconds() - 30 }))).status).toBe(200);
    });

    it('refuses a token signed by another key with the same kid', async () => {
      await expectRefused(await oauthToken({}, strayKey), 'token-rejected', 'bad-signature');
    });

    it('refuses a token with an unknown kid', async () => {
      await expectRefused(await oauthToken({}, oauthKey, { kid: 'nobody' }), 'token-rejected', 'unknown-kid');
    });

    it('refuses the wrong audience', async () => {
      await expectRefused(await oauthToken({ aud: 'someone-else' }), 'token-rejected', 'wrong-audience');
    });

    it('refuses an issuer no caller trusts (its token goes to the introspection caller, whose server knows it not)', async () => {
      await expectRefused(await oauthToken({ iss: 'https://evil.example' }), 'token-rejected');
    });

    it('refuses an expired token', async () => {
      await expectRefused(await oauthToken({ exp: nowSeconds() - 120 }), 'token-rejected', 'expired');
    });

    it('refuses a token that is not yet valid', async () => {
      await expectRefused(await oauthToken({ nbf: nowSeconds() + 120 }), 'token-rejected', 'not-yet-valid');
    });

    it('refuses a token without exp', async () => {
      await expectRefused(await oauthToken({ exp: undefined }), 'token-rejected', 'missing-claim');
    });

    it('refuses alg: none', async () => {
      const header = base64url(JSON.stringify({ alg: 'none', typ: 'JWT', kid: 'oauth-1' }));
      const payload = base64url(
        JSON.stringify({ iss: oauthIssuer(), aud: AUDIENCE, sub: 'bot-1', exp: nowSeconds() + 300 }),
      );
      await expectRefused(`${header}.${payload}.`, 'token-rejected');
    });

    it('refuses a subject outside the allowlist', async () => {
      await expectRefused(await oauthToken({ sub: 'bot-2' }), 'identity-not-allowed', 'bot-2');
    });
  });

  describe('Google-signed ID tokens (Dialogflow service agent)', () => {
    const googleToken = (claims: Record<string, unknown> = {}) =>
      signJwt(googleKey, {
        iss: 'https://accounts.google.com',
        aud: GOOGLE_AUDIENCE,
        sub: '1234567890',
        email: DIALOGFLOW_SA,
        email_verified: true,
        iat: nowSeconds(),
        exp: nowSeconds() + 300,
        ...claims,
      });

    it('accepts the service agent', async () => {
      expect((await send(await googleToken())).status).toBe(200);
    });

    it('refuses another service account', async () => {
      await expectRefused(
        await googleToken({ email: 'attacker@evil.iam.gserviceaccount.com' }),
        'identity-not-allowed',
      );
    });

    it('refuses an unverified email', async () => {
      await expectRefused(await googleToken({ email_verified: false }), 'identity-not-allowed');
    });

    it('refuses a token for another audience', async () => {
      await expectRefused(await googleToken({ aud: 'https://other.example' }), 'token-rejected', 'wrong-audience');
    });
  });

  describe('Kubernetes service-account tokens (OIDC discovery)', () => {
    const k8sToken = (claims: Record<string, unknown> = {}) =>
      signJwt(k8sKey, { iss: k8sIssuer(), aud: 'webhook', sub: K8S_SA, exp: nowSeconds() + 300, ...claims });

    it('accepts an allowed service account', async () => {
      expect((await send(await k8sToken())).status).toBe(200);
    });

    it('refuses another service account', async () => {
      await expectRefused(await k8sToken({ sub: 'system:serviceaccount:default:intruder' }), 'identity-not-allowed');
    });
  });

  describe('opaque tokens by RFC 7662 introspection', () => {
    it('accepts an active token of an allowed subject', async () => {
      expect((await send('opaque-good-token-0001')).status).toBe(200);
    });

    it('refuses an inactive token', async () => {
      await expectRefused('opaque-revoked-token-01', 'token-rejected');
    });

    it('refuses an active token of another subject', async () => {
      await expectRefused('opaque-other-subject-01', 'identity-not-allowed', 'svc-b');
    });

    it("refuses an active token of the right subject issued to another client than the caller's clientIds", async () => {
      await expectRefused('opaque-other-client-001', 'identity-not-allowed', 'client_id some-other-app');
    });
  });
});
