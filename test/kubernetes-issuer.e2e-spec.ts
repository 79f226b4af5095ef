import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { LocalServer, makeKey, nowSeconds, serveJwks, signJwt, TestKey } from '../src/auth/tokens/testing/local-server';
import { DEFAULT_REVIEWER_CA_FILE } from '../src/auth/tokens/token-review';
import { waitForAuditRow } from './support/audit-events';
import { README_REQUEST } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { generateCertificates, pem } from './support/tls-fixtures';

const PATH = '/v1/webhooks/dialogflow-es';
const AUDIENCE = 'webhook-fulfillment';
const SERVICE_ACCOUNT = 'system:serviceaccount:bots:dialogflow';
/** This pod's own projected service-account token (what the chart mounts). */
const POD_TOKEN = 'pod-service-account-token-0123456789';

interface Seen {
  readonly path: string;
  readonly host: string | undefined;
  readonly authorization: string | undefined;
}

/**
 * A stand-in for the cluster's API server as a service-account issuer: HTTPS with a certificate of the cluster CA,
 * and, like the real one, discovery and JWKS only for an authenticated service account (401 otherwise). Its
 * discovery document names the JWKS at another host name of the same server (the real one names its own address
 * on 6443). It answers TokenReview too.
 */
class ApiServer {
  readonly seen: Seen[] = [];
  private port = 0;
  private readonly server: Server;

  private constructor(
    tls: { key: Buffer; cert: Buffer },
    private readonly key: TestKey,
  ) {
    this.server = createServer(tls, (req, res) => {
      const path = new URL(req.url ?? '/', 'https://localhost').pathname;
      this.seen.push({ path, host: req.headers.host, authorization: req.headers.authorization });
      const reply = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      req.resume();
      req.on('end', () => {
        if (req.headers.authorization !== `Bearer ${POD_TOKEN}`) {
          reply(401, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 });
        } else if (path === '/.well-known/openid-configuration') {
          reply(200, {
            issuer: this.issuer,
            jwks_uri: `https://localhost:${this.port}/openid/v1/jwks`,
            response_types_supported: ['id_token'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: ['RS256'],
          });
        } else if (path === '/openid/v1/jwks') {
          reply(200, { keys: [this.key.publicJwk] });
        } else if (path === '/apis/authentication.k8s.io/v1/tokenreviews') {
          reply(201, {
            kind: 'TokenReview',
            apiVersion: 'authentication.k8s.io/v1',
            status: { authenticated: true, user: { username: SERVICE_ACCOUNT }, audiences: [AUDIENCE] },
          });
        } else {
          reply(404, { kind: 'Status', code: 404 });
        }
      });
    });
  }

  static async start(tls: { key: Buffer; cert: Buffer }, key: TestKey): Promise<ApiServer> {
    const self = new ApiServer(tls, key);
    await new Promise<void>((resolve) => self.server.listen(0, '127.0.0.1', resolve));
    self.port = (self.server.address() as AddressInfo).port;
    return self;
  }

  get issuer(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/**
 * Kubernetes service-account tokens whose issuer is the cluster's own API server (kubeadm, kind, k3s:
 * https://kubernetes.default.svc.cluster.local): discovery and JWKS go to the API server with this pod's token, over
 * the cluster CA alone; every other issuer gets plain requests without the token.
 */
describe('kubernetes callers of an issuer served by the API server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-kubernetes-issuer-'));
  const certs = join(dir, 'certs');
  const otherCerts = join(dir, 'other-certs');
  let apiServer: ApiServer;
  let strangerServer: ApiServer;
  let publicIssuer: LocalServer;
  let key: TestKey;
  let t: TestApp;

  const send = (token: string) =>
    request(t.baseUrl).post(PATH).set('Authorization', `Bearer ${token}`).send(README_REQUEST);
  const token = (iss: string, claims: Record<string, unknown> = {}) =>
    signJwt(key, { iss, aud: AUDIENCE, sub: SERVICE_ACCOUNT, iat: nowSeconds(), exp: nowSeconds() + 600, ...claims });
  const refusal = async (iss: string): Promise<string> => {
    const response = await send(await token(iss));
    // The issuer's keys could not be had: not a bad token, so 503 with Retry-After rather than 401.
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    const requestId = (response.body as { requestId: string }).requestId;
    const row = await waitForAuditRow(t.database.url, (r) => r.request_id === requestId);
    expect(row).toMatchObject({ event: 'authn_login_fail', reason: 'verifier-unavailable' });
    return row.detail ?? '';
  };

  beforeAll(async () => {
    generateCertificates(certs);
    generateCertificates(otherCerts);
    key = await makeKey('sa-1');
    const tls = { key: pem(certs, 'server.key'), cert: pem(certs, 'server.crt') };
    apiServer = await ApiServer.start(tls, key);
    strangerServer = await ApiServer.start(tls, key);
    publicIssuer = await LocalServer.start();
    publicIssuer.route('GET', '/.well-known/openid-configuration', () => ({
      json: { issuer: publicIssuer.baseUrl, jwks_uri: publicIssuer.url('/keys') },
    }));
    serveJwks(publicIssuer, '/keys', () => [key]);
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${POD_TOKEN}\n`);
    const review = (url: string, caFile: string) =>
      `tokenReview: { url: "${url}", tokenFile: "${tokenFile}", caFile: "${caFile}" }`;
    const caller = (id: string, issuer: string, extra = '') =>
      [
        `  - id: ${id}`,
        '    platforms: [dialogflow-es]',
        `    auth: { kubernetes: { issuer: "${issuer}", audience: ${AUDIENCE}, serviceAccounts: ["${SERVICE_ACCOUNT}"]${extra} } }`,
      ].join('\n');
    const file = join(dir, 'callers.yaml');
    writeFileSync(
      file,
      [
        'callers:',
        caller('cluster-bot', apiServer.issuer, `, ${review(apiServer.issuer, join(certs, 'ca.crt'))}`),
        // The same kind of server, but its certificate is not of the CA this caller trusts for it.
        caller('stranger-bot', strangerServer.issuer, `, ${review(strangerServer.issuer, join(otherCerts, 'ca.crt'))}`),
        caller('public-bot', publicIssuer.baseUrl),
        caller(
          'in-cluster-bot',
          'https://kubernetes.default.svc.cluster.local',
          `, ${review('https://kubernetes.default.svc', join(dir, 'no-such-ca.crt'))}`,
        ),
        caller('default-files-bot', 'https://kubernetes.default.svc'),
        '',
      ].join('\n'),
    );
    t = await startTestApp({ env: { CALLERS_FILE: file } });
  });

  afterAll(async () => {
    await t?.close();
    await apiServer?.close();
    await strangerServer?.close();
    await publicIssuer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the keys with this pod’s token, at the issuer and at the jwks_uri it names, and accepts the token', async () => {
    expect((await send(await token(apiServer.issuer))).status).toBe(200);
    const fetched = apiServer.seen.filter((s) => s.path !== '/apis/authentication.k8s.io/v1/tokenreviews');
    expect(fetched.map((s) => [s.path, s.host?.replace(/:\d+$/, ''), s.authorization])).toEqual([
      ['/.well-known/openid-configuration', '127.0.0.1', `Bearer ${POD_TOKEN}`],
      ['/openid/v1/jwks', 'localhost', `Bearer ${POD_TOKEN}`],
    ]);
  });

  it('sends the token to no server whose certificate is not of the cluster CA', async () => {
    expect(await refusal(strangerServer.issuer)).toMatch(/OIDC discovery/);
    expect(strangerServer.seen).toEqual([]);
  });

  it('asks any other issuer without the token', async () => {
    expect((await send(await token(publicIssuer.baseUrl))).status).toBe(200);
    const asked = [...publicIssuer.requests('/.well-known/openid-configuration'), ...publicIssuer.requests('/keys')];
    expect(asked).toHaveLength(2);
    for (const seen of asked) expect(seen.headers.authorization).toBeUndefined();
  });

  it('treats the API server’s in-cluster name as the API server, with tokenReview’s files', async () => {
    // Its CA file (the audit detail is cut at 256 characters: the path's start is what shows).
    expect(await refusal('https://kubernetes.default.svc.cluster.local')).toContain(
      `failed: ENOENT: no such file or directory, open '${dir.slice(0, 12)}`,
    );
  });

  // Outside a pod (no service-account files mounted), the defaults are missing and say so.
  (existsSync(DEFAULT_REVIEWER_CA_FILE) ? it.skip : it)(
    'without tokenReview, reads the service-account files where Kubernetes mounts them',
    async () => {
      expect(await refusal('https://kubernetes.default.svc')).toContain(DEFAULT_REVIEWER_CA_FILE);
    },
  );
});
