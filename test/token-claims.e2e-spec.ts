import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import {
  LocalServer,
  makeKey,
  nowSeconds,
  serveJwks,
  signJwt,
  sleep,
  TestKey,
} from '../src/auth/tokens/testing/local-server';
import { TokenReviewServer } from '../src/auth/tokens/testing/token-review-server';
import { README_REQUEST } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';
import { generateCertificates, pem } from './support/tls-fixtures';

const PATH = '/v1/webhooks/dialogflow-es';
const AUDIENCE = 'webhook-fulfillment';
const GOOGLE_AUDIENCE = 'https://webhook.bank.example/v1/webhooks/dialogflow-es';
const DIALOGFLOW_SA = 'service-123@gcp-sa-dialogflow.iam.gserviceaccount.com';
const K8S_SA = 'system:serviceaccount:bots:dialogflow';
const REVIEWER_TOKEN = 'reviewer-service-account-token-0123456789';
const CHALLENGE = 'Bearer realm="webhook-fulfillment"';
const INVALID_TOKEN_CHALLENGE = 'Bearer realm="webhook-fulfillment", error="invalid_token"';

interface AuditRow extends Record<string, unknown> {
  event: string;
  request_id: string | null;
  reason: string | null;
  detail: string | null;
}

/**
 * Token claims end to end (issue 18): future `iat`, maximum lifetime, `typ` (access vs ID tokens), the RFC 6750
 * challenge, JWKS refetch limits, and Kubernetes TokenReview against a local HTTPS server speaking the API.
 */
describe('token claims', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-token-claims-'));
  let issuer: LocalServer;
  let reviews: TokenReviewServer;
  let t: TestApp;
  let oauthKey: TestKey;
  let googleKey: TestKey;
  let k8sKey: TestKey;
  const bodies = new Set<string>();

  const url = (path: string) => issuer.url(path);
  const send = (token?: string) => {
    const call = request(t.baseUrl).post(PATH);
    return (token === undefined ? call : call.set('Authorization', `Bearer ${token}`)).send(README_REQUEST);
  };
  const auditRows = () => queryTestDatabase<AuditRow>(t.database.url, 'SELECT * FROM audit_events ORDER BY id');

  async function expectRefused(token: string, reason: string, detail?: string): Promise<void> {
    const response = await send(token);
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe(INVALID_TOKEN_CHALLENGE);
    const { requestId, ...body } = response.body as Record<string, unknown>;
    expect(requestId).toEqual(expect.any(String));
    bodies.add(JSON.stringify(body));
    let rows: AuditRow[] = [];
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      rows = (await auditRows()).filter((row) => row.request_id === requestId);
      if (rows.length === 0) await sleep(100);
    }
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ event: 'authn_login_fail', reason, ...(detail && { detail }) });
  }

  const base = () => ({ iat: nowSeconds(), exp: nowSeconds() + 300 });
  const oauth = (claims: Record<string, unknown> = {}, header = {}, path = '/oauth') =>
    signJwt(oauthKey, { iss: url(path), aud: AUDIENCE, sub: 'bot-1', ...base(), ...claims }, header);
  const google = (claims: Record<string, unknown> = {}, header = {}) =>
    signJwt(
      googleKey,
      {
        iss: 'https://accounts.google.com',
        aud: GOOGLE_AUDIENCE,
        sub: '42',
        email: DIALOGFLOW_SA,
        email_verified: true,
        ...base(),
        ...claims,
      },
      { ...header },
    );
  const k8s = (claims: Record<string, unknown> = {}, path = '/k8s-review') =>
    signJwt(k8sKey, { iss: url(path), aud: 'webhook', sub: K8S_SA, ...base(), ...claims }, { typ: undefined });

  beforeAll(async () => {
    generateCertificates(join(dir, 'certs'));
    issuer = await LocalServer.start();
    reviews = await TokenReviewServer.start({
      key: pem(join(dir, 'certs'), 'server.key'),
      cert: pem(join(dir, 'certs'), 'server.crt'),
    });
    [oauthKey, googleKey, k8sKey] = await Promise.all([makeKey('oauth-1'), makeKey('google-1'), makeKey('k8s-1')]);
    serveJwks(issuer, '/oauth/jwks', () => [oauthKey]);
    serveJwks(issuer, '/burst/jwks', () => [oauthKey]);
    serveJwks(issuer, '/google/certs', () => [googleKey]);
    serveJwks(issuer, '/k8s/jwks', () => [k8sKey]);
    const tokenFile = join(dir, 'reviewer-token');
    writeFileSync(tokenFile, `${REVIEWER_TOKEN}\n`);
    const caFile = join(dir, 'certs', 'ca.crt');

    const file = join(dir, 'callers.yaml');
    const jwt = (path: string, extra = '') =>
      `{ jwt: { issuer: "${url(path)}", audience: ${AUDIENCE}, jwksUri: "${url(`${path}/jwks`)}"${extra} } }`;
    writeFileSync(
      file,
      [
        'callers:',
        '  - id: oauth-bot',
        '    platforms: [dialogflow-es]',
        `    auth: ${jwt('/oauth', ', subjects: [bot-1]')}`,
        '  - id: rfc9068-bot',
        '    platforms: [dialogflow-es]',
        `    auth: { jwt: { issuer: "${url('/strict')}", audience: ${AUDIENCE}, jwksUri: "${url('/oauth/jwks')}", requireAccessTokenType: true } }`,
        '  - id: burst-bot',
        '    platforms: [dialogflow-es]',
        `    auth: ${jwt('/burst')}`,
        '  - id: google-bot',
        '    platforms: [dialogflow-es]',
        `    auth: { googleIdToken: { audience: "${GOOGLE_AUDIENCE}", emails: [${DIALOGFLOW_SA}], jwksUri: "${url('/google/certs')}", maxLifetimeSeconds: 3600 } }`,
        '  - id: k8s-review-bot',
        '    platforms: [dialogflow-es]',
        `    auth: { kubernetes: { issuer: "${url('/k8s-review')}", audience: webhook, serviceAccounts: ["${K8S_SA}"], jwksUri: "${url('/k8s/jwks')}",`,
        `            tokenReview: { url: "${reviews.url}", tokenFile: "${tokenFile}", caFile: "${caFile}" } } }`,
        '  - id: k8s-plain-bot',
        '    platforms: [dialogflow-es]',
        `    auth: { kubernetes: { issuer: "${url('/k8s-plain')}", audience: webhook, serviceAccounts: ["${K8S_SA}"], jwksUri: "${url('/k8s/jwks')}" } }`,
        '',
      ].join('\n'),
    );
    t = await startTestApp({ env: { CALLERS_FILE: file } });
  });

  afterAll(async () => {
    await t?.close();
    await issuer?.close();
    await reviews?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('iat', () => {
    it('refuses an iat in the future beyond the 60 s clock skew', async () => {
      await expectRefused(await oauth({ iat: nowSeconds() + 300 }), 'token-rejected', 'issued-in-future');
    });

    it('accepts an iat within the clock skew', async () => {
      expect((await send(await oauth({ iat: nowSeconds() + 20 }))).status).toBe(200);
    });
  });

  describe('maximum lifetime', () => {
    it('refuses an exp more than 24 h ahead (default)', async () => {
      await expectRefused(await oauth({ exp: nowSeconds() + 25 * 3600 }), 'token-rejected', 'lifetime-too-long');
    });

    it('applies a caller’s own maxLifetimeSeconds', async () => {
      expect((await send(await google({ exp: nowSeconds() + 3000 }))).status).toBe(200);
      await expectRefused(await google({ exp: nowSeconds() + 7200 }), 'token-rejected', 'lifetime-too-long');
    });
  });

  describe('token type', () => {
    it('an RFC 9068 caller accepts at+jwt and application/at+jwt', async () => {
      for (const typ of ['at+jwt', 'application/at+jwt']) {
        expect((await send(await oauth({ iss: url('/strict') }, { typ }))).status).toBe(200);
      }
    });

    it('an RFC 9068 caller refuses typ JWT (e.g. an ID token of the same issuer)', async () => {
      await expectRefused(await oauth({ iss: url('/strict') }, { typ: 'JWT' }), 'token-rejected', 'wrong-token-type');
    });

    it('an access-token caller refuses an OpenID Connect ID token (nonce, at_hash)', async () => {
      await expectRefused(await oauth({ nonce: 'n-1', at_hash: 'abc' }), 'token-rejected', 'wrong-token-type');
    });

    it('an ID-token caller refuses an access token (at+jwt)', async () => {
      await expectRefused(await google({}, { typ: 'at+jwt' }), 'token-rejected', 'wrong-token-type');
    });
  });

  describe('RFC 6750 challenge and one body for every failure', () => {
    it('a request without credentials gets a challenge without an error code', async () => {
      const response = await send();
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe(CHALLENGE);
      const { requestId, ...body } = response.body as Record<string, unknown>;
      expect(requestId).toEqual(expect.any(String));
      bodies.add(JSON.stringify(body));
    });

    it('an unknown issuer, a malformed and an opaque token get error="invalid_token"', async () => {
      await expectRefused(await oauth({ iss: 'https://evil.example' }), 'unknown-token');
      await expectRefused('not.a.jwt', 'unknown-token');
      await expectRefused('opaque-token-nobody-introspects', 'unknown-token');
    });

    it('every 401 above had the same body', () => {
      expect([...bodies]).toEqual([
        JSON.stringify({ statusCode: 401, error: 'UNAUTHENTICATED', message: 'Missing or invalid credentials.' }),
      ]);
    });
  });

  describe('JWKS refetch on unknown kid', () => {
    it('fetches the JWKS at most once per 30 s cooldown for a flood of random unknown kids', async () => {
      const flood = async (n: number) => {
        const tokens = await Promise.all(
          Array.from({ length: n }, () =>
            oauth({}, { kid: `random-${Math.random().toString(36).slice(2)}` }, '/burst'),
          ),
        );
        const statuses = await Promise.all(tokens.map(async (token) => (await send(token)).status));
        expect(statuses.every((status) => status === 401)).toBe(true);
      };
      await flood(25);
      expect(issuer.count('/burst/jwks')).toBe(1);
      await flood(25);
      expect((await send(await oauth({}, {}, '/burst'))).status).toBe(200);
      expect(issuer.count('/burst/jwks')).toBe(1);
    });
  });

  describe('Kubernetes TokenReview', () => {
    beforeEach(() => {
      reviews.received.length = 0;
      reviews.decide = (token) =>
        token.length > 0 ? { authenticated: true, username: K8S_SA, audiences: ['webhook'] } : { authenticated: false };
    });

    it('sends a real TokenReview and accepts an authenticated service account, caching the answer briefly', async () => {
      const token = await k8s();
      expect((await send(token)).status).toBe(200);
      expect(reviews.received).toEqual([
        {
          authorization: `Bearer ${REVIEWER_TOKEN}`,
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenReview',
            spec: { token, audiences: ['webhook'] },
          },
        },
      ]);
      expect((await send(token)).status).toBe(200);
      expect(reviews.received).toHaveLength(1);
    });

    it('refuses the token of a deleted pod (authenticated: false), and asks again after a few seconds', async () => {
      reviews.decide = () => ({ authenticated: false, error: 'pod "bot-7f9c" not found' });
      const token = await k8s({ jti: 'deleted-pod' });
      await expectRefused(token, 'token-rejected', 'token-review-not-authenticated');
      await sleep(2_100);
      await expectRefused(token, 'token-rejected', 'token-review-not-authenticated');
      expect(reviews.received).toHaveLength(2);
    });

    it('refuses a review without the expected audience or username', async () => {
      reviews.decide = () => ({ authenticated: true, username: K8S_SA, audiences: ['https://kubernetes.default.svc'] });
      await expectRefused(await k8s({ jti: 'aud' }), 'token-rejected', 'token-review-wrong-audience');
      reviews.decide = () => ({ authenticated: true, username: K8S_SA });
      await expectRefused(await k8s({ jti: 'no-aud' }), 'token-rejected', 'token-review-wrong-audience');
      reviews.decide = () => ({
        authenticated: true,
        username: 'system:serviceaccount:default:other',
        audiences: ['webhook'],
      });
      await expectRefused(await k8s({ jti: 'user' }), 'token-rejected', 'token-review-wrong-user');
    });

    it('answers 503 with Retry-After when the API server cannot answer (not a bad token), and does not cache that', async () => {
      reviews.decide = () => ({ httpStatus: 500 });
      const token = await k8s({ jti: 'api-down' });
      const unavailable = await send(token);
      expect(unavailable.status).toBe(503);
      expect(unavailable.headers['retry-after']).toBe('5');
      expect(unavailable.body).toMatchObject({ statusCode: 503, error: 'UNAVAILABLE' });
      const requestId = (unavailable.body as { requestId: string }).requestId;
      let rows: AuditRow[] = [];
      for (let i = 0; i < 50 && rows.length === 0; i++) {
        rows = (await auditRows()).filter((row) => row.request_id === requestId);
        if (rows.length === 0) await sleep(100);
      }
      expect(rows).toEqual([
        expect.objectContaining({ reason: 'verifier-unavailable', detail: 'token-review-unavailable' }),
      ]);
      reviews.decide = () => ({ authenticated: true, username: K8S_SA, audiences: ['webhook'] });
      expect((await send(token)).status).toBe(200);
    });

    it('does not review a token that fails local checks', async () => {
      await expectRefused(await k8s({ sub: 'system:serviceaccount:default:intruder' }), 'identity-not-allowed');
      expect(reviews.received).toHaveLength(0);
    });

    it('without tokenReview, a verified token is accepted without asking the API server', async () => {
      expect((await send(await k8s({}, '/k8s-plain'))).status).toBe(200);
      expect(reviews.received).toHaveLength(0);
    });
  });
});
