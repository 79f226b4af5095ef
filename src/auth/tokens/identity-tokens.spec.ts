import type { JWTPayload } from 'jose';
import {
  checkGoogleIdentity,
  checkKubernetesIdentity,
  createGoogleIdTokenVerifier,
  createKubernetesTokenVerifier,
  GOOGLE_ISSUERS,
  GOOGLE_JWKS_URI,
  kubernetesServiceAccountSubject,
} from './identity-tokens';
import { OidcDiscovery } from './oidc-discovery';
import { LocalServer, makeKey, nowSeconds, serveJwks, signJwt, type TestKey } from './testing/local-server';

const WEBHOOK_URL = 'https://bot.example/webhooks/dialogflow';
const DIALOGFLOW_AGENT = 'service-123456789@gcp-sa-dialogflow.iam.gserviceaccount.com';

let server: LocalServer;
let googleKey: TestKey;
let clusterKey: TestKey;
let ecKey: TestKey;

beforeAll(async () => {
  server = await LocalServer.start();
  [googleKey, clusterKey, ecKey] = await Promise.all([
    makeKey('google-1', 'RS256'),
    makeKey('cluster-1', 'RS256'),
    makeKey('ec-1', 'ES256'),
  ]);
});

afterAll(() => server.close());

beforeEach(() => server.reset());

describe('Google ID tokens', () => {
  const ALLOWED = [DIALOGFLOW_AGENT];

  beforeEach(() => serveJwks(server, '/oauth2/v3/certs', () => [googleKey, ecKey]));

  function googleVerifier() {
    return createGoogleIdTokenVerifier({ audience: WEBHOOK_URL, jwksUri: server.url('/oauth2/v3/certs') });
  }

  function idToken(overrides: JWTPayload = {}, key: TestKey = googleKey): Promise<string> {
    const now = nowSeconds();
    return signJwt(key, {
      iss: 'https://accounts.google.com',
      aud: WEBHOOK_URL,
      azp: '111122223333444455556',
      sub: '111122223333444455556',
      email: DIALOGFLOW_AGENT,
      email_verified: true,
      iat: now,
      exp: now + 3600,
      ...overrides,
    });
  }

  async function authenticate(token: string) {
    const result = await googleVerifier().verify(token);
    return result.ok ? checkGoogleIdentity(result.claims, ALLOWED) : result;
  }

  it('uses Google issuers and certificate URL by default', () => {
    expect(GOOGLE_ISSUERS).toEqual(['https://accounts.google.com', 'accounts.google.com']);
    expect(GOOGLE_JWKS_URI).toBe('https://www.googleapis.com/oauth2/v3/certs');
  });

  it.each(GOOGLE_ISSUERS)('accepts the Dialogflow service agent with issuer %s', async (iss) => {
    expect(await authenticate(await idToken({ iss }))).toEqual({ ok: true, subject: DIALOGFLOW_AGENT });
  });

  it('refuses an email outside the allowlist', async () => {
    const token = await idToken({ email: 'someone@gmail.com' });
    expect(await authenticate(token)).toEqual({ ok: false, reason: 'identity-not-allowed' });
  });

  it('refuses a token without an email', async () => {
    expect(await authenticate(await idToken({ email: undefined }))).toEqual({
      ok: false,
      reason: 'identity-not-allowed',
    });
    expect(checkGoogleIdentity({ email: 42, email_verified: true }, ALLOWED)).toEqual({
      ok: false,
      reason: 'identity-not-allowed',
    });
  });

  it.each([[false], ['true'], [undefined]])('refuses email_verified = %p', async (emailVerified) => {
    const token = await idToken({ email_verified: emailVerified });
    expect(await authenticate(token)).toEqual({ ok: false, reason: 'email-not-verified' });
  });

  it('matches emails exactly and accepts a Set', () => {
    const claims = { email: DIALOGFLOW_AGENT.toUpperCase(), email_verified: true };
    expect(checkGoogleIdentity(claims, ALLOWED)).toEqual({ ok: false, reason: 'identity-not-allowed' });
    expect(checkGoogleIdentity({ email: DIALOGFLOW_AGENT, email_verified: true }, new Set(ALLOWED))).toEqual({
      ok: true,
      subject: DIALOGFLOW_AGENT,
    });
    expect(checkGoogleIdentity({ email: DIALOGFLOW_AGENT, email_verified: true }, [])).toEqual({
      ok: false,
      reason: 'identity-not-allowed',
    });
  });

  it('refuses a token for another audience or from another issuer', async () => {
    expect(await authenticate(await idToken({ aud: 'https://other.example/hook' }))).toEqual({
      ok: false,
      reason: 'wrong-audience',
    });
    expect(await authenticate(await idToken({ iss: 'https://securetoken.google.com/project' }))).toEqual({
      ok: false,
      reason: 'wrong-issuer',
    });
  });

  it('accepts RS256 only', async () => {
    expect(await authenticate(await idToken({}, ecKey))).toEqual({ ok: false, reason: 'alg-not-allowed' });
  });

  it('refuses an expired token', async () => {
    const token = await idToken({ iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 });
    expect(await authenticate(token)).toEqual({ ok: false, reason: 'expired' });
  });
});

describe('Kubernetes service-account tokens', () => {
  const ISSUER_PATH = '/cluster';
  const AUDIENCE = 'webhook-fulfillment';
  const CALLER = 'system:serviceaccount:payments:webhook-caller';
  let issuer: string;

  beforeEach(() => {
    issuer = server.url(ISSUER_PATH);
    server.route('GET', `${ISSUER_PATH}/.well-known/openid-configuration`, () => ({
      json: {
        issuer,
        jwks_uri: server.url('/openid/v1/jwks'),
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      },
    }));
    serveJwks(server, '/openid/v1/jwks', () => [clusterKey]);
  });

  function saToken(overrides: JWTPayload = {}): Promise<string> {
    const now = nowSeconds();
    return signJwt(
      clusterKey,
      {
        iss: issuer,
        aud: [AUDIENCE],
        sub: CALLER,
        iat: now,
        nbf: now,
        exp: now + 3600,
        'kubernetes.io': {
          namespace: 'payments',
          serviceaccount: { name: 'webhook-caller', uid: '0b0c0d0e' },
          pod: { name: 'caller-7d9f', uid: '1a2b3c4d' },
        },
        ...overrides,
      },
      { typ: undefined },
    );
  }

  it('discovers the JWKS, verifies the token and allows a listed service account', async () => {
    const verifier = createKubernetesTokenVerifier({ issuer, audience: AUDIENCE });
    for (let i = 0; i < 3; i++) {
      const result = await verifier.verify(await saToken());
      expect(result.ok && checkKubernetesIdentity(result.claims, [CALLER])).toEqual({ ok: true, subject: CALLER });
    }
    expect(server.count(`${ISSUER_PATH}/.well-known/openid-configuration`)).toBe(1);
    expect(server.count('/openid/v1/jwks')).toBe(1);
  });

  it('refuses a service account outside the allowlist, and a subject that is not a service account', async () => {
    const verifier = createKubernetesTokenVerifier({ issuer, audience: AUDIENCE });
    const other = await verifier.verify(await saToken({ sub: 'system:serviceaccount:default:default' }));
    expect(other.ok && checkKubernetesIdentity(other.claims, [CALLER])).toEqual({
      ok: false,
      reason: 'identity-not-allowed',
    });
    for (const sub of ['system:node:worker-1', 'webhook-caller', `${CALLER}:extra`, 'system:serviceaccount:Bad_NS:x']) {
      expect(checkKubernetesIdentity({ sub }, [sub])).toEqual({ ok: false, reason: 'not-a-service-account' });
    }
    expect(checkKubernetesIdentity({}, [CALLER])).toEqual({ ok: false, reason: 'not-a-service-account' });
  });

  it('refuses a token for another audience or from another cluster', async () => {
    const verifier = createKubernetesTokenVerifier({ issuer, audience: AUDIENCE });
    expect(await verifier.verify(await saToken({ aud: ['https://kubernetes.default.svc'] }))).toEqual({
      ok: false,
      reason: 'wrong-audience',
    });
    expect(await verifier.verify(await saToken({ iss: 'https://other-cluster.example' }))).toEqual({
      ok: false,
      reason: 'wrong-issuer',
    });
  });

  it('reports jwks-unavailable while discovery fails and recovers afterwards', async () => {
    let up = false;
    server.route('GET', `${ISSUER_PATH}/.well-known/openid-configuration`, () =>
      up ? { json: { issuer, jwks_uri: server.url('/openid/v1/jwks') } } : { status: 503 },
    );
    const discovery = new OidcDiscovery({ retryAfterFailureMs: 0 });
    const verifier = createKubernetesTokenVerifier({ issuer, audience: AUDIENCE, discovery });
    const token = await saToken();
    expect(await verifier.verify(token)).toEqual({ ok: false, reason: 'jwks-unavailable' });
    up = true;
    expect(await verifier.verify(token)).toMatchObject({ ok: true, claims: { sub: CALLER } });
  });

  it('builds and validates service-account subjects', () => {
    expect(kubernetesServiceAccountSubject('payments', 'webhook-caller')).toBe(CALLER);
    expect(kubernetesServiceAccountSubject('kube-system', 'a.b-c')).toBe('system:serviceaccount:kube-system:a.b-c');
    expect(() => kubernetesServiceAccountSubject('Payments', 'x')).toThrow(/Not a valid service account/);
    expect(() => kubernetesServiceAccountSubject('payments', '')).toThrow(/Not a valid service account/);
    expect(() => kubernetesServiceAccountSubject('a:b', 'c')).toThrow(/Not a valid service account/);
  });
});
