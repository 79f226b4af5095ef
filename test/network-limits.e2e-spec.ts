import { type ServiceError, status } from '@grpc/grpc-js';
import { AuditLog } from '../src/audit/audit-log';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { hashPassword } from '../src/auth/passwords';
import { toStruct } from '../src/grpc/struct';
import { auditRows, waitForAuditRow } from './support/audit-events';
import { grpcMetadata, openGrpcClient, type ServiceClient, unary } from './support/grpc-client';
import { README_REQUEST } from './support/dialogflow-es.fixtures';
import { testRedisUrl } from './support/redis';
import { startTestApp, TestApp } from './support/test-app';
import { TestHandlersModule } from './support/test-handlers';

const PATH = '/v1/webhooks/dialogflow-es';
const TOKEN = 'network-bot-token-0123456789abcdef';
const RANGED_TOKEN = 'network-ranged-token-0123456789abcd';
const PASSWORD = 'network basic password, long enough';
// Unique per run: the Redis counters outlive a run by up to a window.
const RUN = randomBytes(4).toString('hex');
const USERNAME = `legacy-${RUN}`;

/** A fresh client address (198.18.0.0/15, the benchmarking range) for each scenario's own budget. */
const freshAddress = () => `198.18.${randomInt(0, 256)}.${randomInt(1, 255)}`;

function fulfil(client: ServiceClient, meta: Record<string, string>): Promise<ServiceError | null> {
  const body = {
    sessionId: `net-${RUN}`,
    intent: 'GetAccountBalance',
    parameters: toStruct({ user_id: '12345', account_type: 'checking' }),
  };
  return unary(client, 'Fulfill', body, grpcMetadata(meta)).then(
    () => null,
    (error: ServiceError) => error,
  );
}

async function callersFile(root: string): Promise<string> {
  const file = join(root, 'callers.yaml');
  writeFileSync(
    file,
    [
      'callers:',
      '  - id: net-bot',
      '    platforms: [dialogflow-es, generic]',
      `    auth: { bearer: { tokens: [${TOKEN}] } }`,
      '  - id: net-ranged',
      '    platforms: [dialogflow-es, generic]',
      '    sourceRanges: [198.51.100.0/24, "2001:db8:aa::/48"]',
      `    auth: { bearer: { tokens: [${RANGED_TOKEN}] } }`,
      '  - id: net-basic',
      '    platforms: [dialogflow-es]',
      `    auth: { basic: { username: ${USERNAME}, passwordHashes: ["${await hashPassword(PASSWORD)}"] } }`,
      '',
    ].join('\n'),
  );
  return file;
}

describe('client address, pre-auth limit, basic backoff and source ranges (real HTTP/gRPC, PostgreSQL, Redis)', () => {
  const root = mkdtempSync(join(tmpdir(), 'wf-network-'));
  // Two replicas behind a proxy on loopback, sharing Redis; one more with no trusted proxy at all.
  let a: TestApp;
  let b: TestApp;
  let untrusting: TestApp;
  let grpcA: ServiceClient;

  beforeAll(async () => {
    const file = await callersFile(root);
    const env = {
      CALLERS_FILE: file,
      TRUSTED_PROXIES: '127.0.0.1/32,::1/128',
      TLS_TERMINATED_BY_PROXY: 'true',
      PREAUTH_LIMIT: '5',
      PREAUTH_TTL_SECONDS: '60',
      BASIC_AUTH_MAX_FAILURES: '2',
      BASIC_AUTH_FAILURE_WINDOW_SECONDS: '60',
      REDIS_URL: testRedisUrl(),
    };
    a = await startTestApp({ env: { ...env, GRPC_ENABLED: 'true' }, imports: [TestHandlersModule] });
    b = await startTestApp({ env: { ...env, BASIC_AUTH_MAX_CONCURRENT_CHECKS: '1' }, imports: [TestHandlersModule] });
    untrusting = await startTestApp({ env: { CALLERS_FILE: file, TLS_TERMINATED_BY_PROXY: 'true' } });
    grpcA = openGrpcClient(a.grpcPort ?? 0);
  }, 90_000);

  afterAll(async () => {
    grpcA?.close();
    await Promise.all([a?.close(), b?.close(), untrusting?.close()]);
    rmSync(root, { recursive: true, force: true });
  });

  const post = (app: TestApp, from: string | undefined, authorization: string) => {
    const call = request(app.baseUrl).post(PATH).set('Authorization', authorization).send(README_REQUEST);
    return from ? call.set('X-Forwarded-For', from) : call;
  };

  describe('the client address', () => {
    it('is the forwarded address behind a trusted proxy: audit rows carry it', async () => {
      const client = freshAddress();
      await post(a, `6.6.6.6, ${client}`, 'Bearer wrong-token-0123456789abcdef').expect(401);
      const row = await waitForAuditRow(
        a.database.url,
        (r) => r.event === 'authn_login_fail' && r.remote_address === client,
      );
      expect(row.reason).toBe('unknown-token');
    });

    it('reads only the header the proxies maintain (X-Forwarded-For by default): a Forwarded the client wrote cannot choose the address', async () => {
      const ranged = (forwarded: string, xForwardedFor: string) =>
        request(a.baseUrl)
          .post(PATH)
          .set('Authorization', `Bearer ${RANGED_TOKEN}`)
          .set('Forwarded', forwarded)
          .set('X-Forwarded-For', xForwardedFor)
          .send(README_REQUEST);
      // A proxy that appends to X-Forwarded-For passes the client's own Forwarded on untouched.
      await ranged('for="[2001:db8:aa::7]:4711";proto=https', '203.0.113.1').expect(403);
      await ranged('for=203.0.113.1', '2001:db8:aa::7').expect(200);
    });

    it('ignores forwarding headers from a peer outside TRUSTED_PROXIES, audited once a minute per address', async () => {
      const before = (await auditRows(untrusting.database.url)).length;
      await post(untrusting, '198.51.100.9', 'Bearer wrong-token-0123456789abcdef').expect(401);
      const login = await waitForAuditRow(untrusting.database.url, (r) => r.event === 'authn_login_fail');
      expect(login.remote_address).toBe('127.0.0.1');
      // Behind a proxy nobody listed, every request has the header: more than the address's audit budget
      // (AUDIT_MAX_PER_SOURCE, 100 a minute), which must still hold the next login failure.
      for (let i = 0; i < 120; i++) await post(untrusting, `198.51.100.${i % 250}`, `Bearer ${TOKEN}`).expect(200);
      await post(untrusting, '198.51.100.9', 'Bearer another-wrong-token-0123456789ab').expect(401);
      await untrusting.app.get(AuditLog).flush();
      const rows = (await auditRows(untrusting.database.url)).slice(before);
      expect(rows.filter((r) => r.reason === 'untrusted-forwarding')).toEqual([
        expect.objectContaining({
          event: 'input_validation_fail',
          remote_address: '127.0.0.1',
          detail: 'x-forwarded-for from a peer outside TRUSTED_PROXIES was ignored (audited once a minute per address)',
        }),
      ]);
      expect(rows.filter((r) => r.event === 'authn_login_fail')).toHaveLength(2);
    });
  });

  describe('the pre-auth limit', () => {
    it('refuses past PREAUTH_LIMIT with 429 and Retry-After before any credential is checked, across replicas', async () => {
      const client = freshAddress();
      for (let i = 0; i < 3; i++) await post(a, client, 'Bearer bad-token-0123456789abcdef-x').expect(401);
      for (let i = 0; i < 2; i++) await post(b, client, 'Bearer bad-token-0123456789abcdef-x').expect(401);
      const refused = await post(a, client, 'Bearer bad-token-0123456789abcdef-x').expect(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.body).toEqual({
        statusCode: 429,
        error: 'RATE_LIMITED',
        message: 'Too many requests; retry after the time in Retry-After.',
        requestId: expect.any(String),
      });
      // The same on the other replica, even with good credentials; another address is unaffected.
      await post(b, client, `Bearer ${TOKEN}`).expect(429);
      await post(b, freshAddress(), `Bearer ${TOKEN}`).expect(200);
      // Express routes ignore case: /V1/… reaches the same webhook, so it is counted too.
      await request(b.baseUrl)
        .post(PATH.replace('/v1/', '/V1/'))
        .set('Authorization', `Bearer ${TOKEN}`)
        .set('X-Forwarded-For', client)
        .send(README_REQUEST)
        .expect(429);

      await waitForAuditRow(
        a.database.url,
        (r) =>
          r.event === 'excess_rate_limit_exceeded' && r.reason === 'preauth-rate-limit' && r.remote_address === client,
      );
      // The refused request's bad token was never looked at: three failed logins on this replica, not four.
      await a.app.get(AuditLog).flush();
      const logins = (await auditRows(a.database.url)).filter(
        (r) => r.event === 'authn_login_fail' && r.remote_address === client,
      );
      expect(logins).toHaveLength(3);
    });

    it('applies to gRPC with the same client address and budget: RESOURCE_EXHAUSTED', async () => {
      const client = freshAddress();
      for (let i = 0; i < 5; i++) await post(b, client, `Bearer ${TOKEN}`).expect(200);
      const error = await fulfil(grpcA, { authorization: `Bearer ${TOKEN}`, 'x-forwarded-for': client });
      expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
      const other = await fulfil(grpcA, { authorization: `Bearer ${TOKEN}`, 'x-forwarded-for': freshAddress() });
      expect(other).toBeNull();
    });
  });

  describe('basic authentication backoff', () => {
    const basic = (password: string) => `Basic ${Buffer.from(`${USERNAME}:${password}`).toString('base64')}`;

    it('refuses a username after BASIC_AUTH_MAX_FAILURES failures, even with the right password, on every replica', async () => {
      await post(a, freshAddress(), basic(PASSWORD)).expect(200);
      await post(a, freshAddress(), basic('wrong')).expect(401);
      await post(b, freshAddress(), basic('wrong')).expect(401);
      const refused = await post(a, freshAddress(), basic(PASSWORD)).expect(401);
      expect(refused.body).toMatchObject({ error: 'UNAUTHENTICATED', message: 'Missing or invalid credentials.' });
      await post(b, freshAddress(), basic(PASSWORD)).expect(401);
      await waitForAuditRow(a.database.url, (r) => r.reason === 'too-many-failures' && r.detail === USERNAME);
    });
  });

  describe('password checks under a flood of random usernames', () => {
    it('hashes at most BASIC_AUTH_MAX_CONCURRENT_CHECKS at once; the burst past the queue gets 503 at once, others are served', async () => {
      const randomUser = () => `Basic ${Buffer.from(`${randomBytes(6).toString('hex')}:guess`).toString('base64')}`;
      // Each from its own address: the pre-auth limit and the username backoff do not stop this flood.
      const flood = Array.from({ length: 40 }, () => post(b, freshAddress(), randomUser()));
      const bystander = post(b, freshAddress(), `Bearer ${TOKEN}`);
      const answers = await Promise.all(flood);
      expect((await bystander).status).toBe(200);
      const busy = answers.filter((answer) => answer.status === 503);
      expect(answers.every((answer) => answer.status === 401 || answer.status === 503)).toBe(true);
      // One running and eight waiting at most, when all 40 arrive together; some always get through.
      expect(busy.length).toBeGreaterThan(0);
      expect(answers.length - busy.length).toBeGreaterThanOrEqual(9);
      for (const answer of busy) {
        expect(answer.headers['retry-after']).toBe('1');
        expect(answer.body).toMatchObject({ statusCode: 503, error: 'OVERLOADED' });
      }
    });
  });

  describe('caller sourceRanges', () => {
    it('serves a caller from inside its ranges and refuses it from outside with 403, audited', async () => {
      await post(a, '198.51.100.20', `Bearer ${RANGED_TOKEN}`).expect(200);
      const outside = freshAddress();
      const refused = await post(a, outside, `Bearer ${RANGED_TOKEN}`).expect(403);
      expect(refused.body).toMatchObject({
        error: 'FORBIDDEN',
        message: 'This caller may not call from this address.',
      });
      const row = await waitForAuditRow(
        a.database.url,
        (r) => r.reason === 'source-not-allowed' && r.remote_address === outside,
      );
      expect(row).toMatchObject({ event: 'authz_fail', caller_id: 'net-ranged', remote_address: outside });
      // The socket address counts when no trusted proxy speaks for the client.
      await post(untrusting, '198.51.100.20', `Bearer ${RANGED_TOKEN}`).expect(403);
    });

    it('refuses it over gRPC with PERMISSION_DENIED', async () => {
      expect(
        await fulfil(grpcA, { authorization: `Bearer ${RANGED_TOKEN}`, 'x-forwarded-for': '198.51.100.21' }),
      ).toBeNull();
      const error = await fulfil(grpcA, { authorization: `Bearer ${RANGED_TOKEN}`, 'x-forwarded-for': freshAddress() });
      expect(error?.code).toBe(status.PERMISSION_DENIED);
    });
  });
});
