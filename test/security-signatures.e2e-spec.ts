import { getStorageToken } from '@nestjs/throttler';
import { dump as toYaml } from 'js-yaml';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { OutgoingHttpHeaders } from 'node:http';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HeaderSignatureScheme, signHeaderSignature } from '../src/auth/hmac/header-signature';
import { decodeStandardWebhookSecret, signStandardWebhook } from '../src/auth/hmac/standard-webhooks';
import { hashPassword } from '../src/auth/passwords';
import { unknownUsername } from '../src/auth/strategies/basic.strategy';
import { AuditLog } from '../src/audit/audit-log';
import { type AuditRow, auditRows, countRows, waitForAuditRow } from './support/audit-events';
import { README_REQUEST } from './support/dialogflow-es.fixtures';
import { type RawResponse, sendRaw } from './support/raw-http';
import { testRedisUrl } from './support/redis';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

const PATH = '/v1/webhooks/dialogflow-es';
const BALANCE = '$3,247.82';
/** The README request exactly as sent (and signed): compact JSON. */
const BODY = JSON.stringify(README_REQUEST);
const UNAUTHENTICATED = { statusCode: 401, error: 'UNAUTHENTICATED', message: 'Missing or invalid credentials.' };

// ---- secrets (fresh for every run; none of them may ever appear in a response or an audit row) ----

const whsec = (): string => `whsec_${randomBytes(32).toString('base64')}`;
const token = (name: string): string => `${name}-${randomBytes(16).toString('hex')}`;

const SW_SECRETS = [whsec(), whsec()];
const SW_KEYS = SW_SECRETS.map(decodeStandardWebhookSecret);
const HDR_SECRET = randomBytes(24).toString('hex');
const HDR_SCHEME: HeaderSignatureScheme = {
  header: 'x-signature',
  algorithm: 'sha256',
  encoding: 'hex',
  prefix: 'sha256=',
};
const PASSWORD = 'correct horse battery staple';
const RASA_TOKEN = token('rasa-only');
const SLOW_TOKEN = token('slow-lane');
const RELOAD_OLD_TOKEN = token('reload-old');
const RELOAD_NEW_TOKEN = token('reload-new');
const SHARED_TOKEN = token('shared-bot');
const basicCredentials = (username: string, password: string): string =>
  `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;

const SECRETS: readonly string[] = [
  ...SW_SECRETS,
  ...SW_SECRETS.map((secret) => secret.slice('whsec_'.length)),
  HDR_SECRET,
  PASSWORD,
  basicCredentials('basic-bot', PASSWORD).slice('Basic '.length),
  RASA_TOKEN,
  SLOW_TOKEN,
  RELOAD_OLD_TOKEN,
  RELOAD_NEW_TOKEN,
  SHARED_TOKEN,
];

function expectNoSecrets(text: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

function expectResponseHasNoSecrets(response: RawResponse): void {
  expectNoSecrets(JSON.stringify(response.headers));
  expectNoSecrets(response.text);
}

// ---- callers files ----

const workDir = mkdtempSync(join(tmpdir(), 'wf-security-'));

/** Writes a callers file atomically (write + rename), as Kubernetes swaps a mounted secret. */
function writeCallersFile(name: string, content: string | object): string {
  const file = join(workDir, name);
  const staged = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(staged, typeof content === 'string' ? content : toYaml(content));
  renameSync(staged, file);
  return file;
}

const bearerCaller = (id: string, tokens: string[], extra: Record<string, unknown> = {}) => ({
  id,
  platforms: ['dialogflow-es'],
  auth: { bearer: { tokens } },
  ...extra,
});

// ---- requests ----

let requestCounter = 0;
const nextRequestId = (): string => `sec-${++requestCounter}-${randomBytes(4).toString('hex')}`;

interface Post {
  headers?: OutgoingHttpHeaders;
  body?: string;
  requestId?: string;
}

function post(
  app: TestApp,
  { headers = {}, body = BODY, requestId = nextRequestId() }: Post = {},
): Promise<RawResponse> {
  return sendRaw(app.baseUrl, PATH, {
    headers: { 'Content-Type': 'application/json', 'X-Request-Id': requestId, ...headers },
    body,
  });
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * Waits until the clock is early in a second and returns that second, so a timestamp exactly at the
 * edge of the window cannot slide across it while the request travels to the server.
 */
async function alignedNowSeconds(): Promise<number> {
  while (Date.now() % 1000 > 150) await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000)));
  return nowSeconds();
}

let messageCounter = 0;
const nextMessageId = (): string => `msg_${++messageCounter}_${randomBytes(6).toString('hex')}`;

interface SwOptions {
  key?: Buffer;
  id?: string;
  timestamp?: number;
  body?: string;
}

/** Standard Webhooks headers signed over exactly `body`. */
function standardWebhookHeaders({
  key = SW_KEYS[0],
  id = nextMessageId(),
  timestamp = nowSeconds(),
  body = BODY,
}: SwOptions = {}) {
  const signature = signStandardWebhook({
    webhookId: id,
    timestampSeconds: timestamp,
    rawBody: Buffer.from(body),
    secret: key,
  });
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
}

function headerSignature(body = BODY, secret = HDR_SECRET, scheme = HDR_SCHEME): string {
  return signHeaderSignature({ scheme, rawBody: Buffer.from(body), secret: Buffer.from(secret, 'utf8') });
}

/** Changes exactly one byte of the body (the customer number 12345 becomes 12346). */
function tamper(body: string): string {
  const tampered = body.replace('"12345"', '"12346"');
  expect(Buffer.byteLength(tampered)).toBe(Buffer.byteLength(body));
  expect(tampered).not.toBe(body);
  return tampered;
}

function replayGuardRows(app: TestApp): Promise<{ caller_id: string; message_id: string }[]> {
  return queryTestDatabase(app.database.url, 'SELECT caller_id, message_id FROM replay_guard');
}

function expectFulfilled(response: RawResponse): void {
  expect({ status: response.status, text: response.text }).toEqual({ status: 200, text: expect.any(String) });
  expect(response.json<{ fulfillmentText: string }>().fulfillmentText).toContain(BALANCE);
}

/** A copy of `object` without `key`. */
function without<T extends object, K extends keyof T>(object: T, key: K): Omit<T, K> {
  const copy = { ...object };
  delete copy[key];
  return copy;
}

// ---- rejections: one shape, one audit row, no other writes ----

interface Rejection {
  status: number;
  error: string;
  event: string;
  reason: string;
  method?: string | null;
  callerId?: string;
  /** A 400 for a malformed header: the header `details[0].field` names. */
  field?: string;
}

/** Every 401 body seen, without its request id: they must all be the same whatever check failed. */
const unauthenticatedBodies: string[] = [];

/**
 * Sends one bad request and checks: the status and `{statusCode, error, message, requestId}` body, no secret in
 * the response, exactly one new audit row (for this request, with the expected event and reason) and no
 * replay_guard row written.
 */
async function expectRejected(
  app: TestApp,
  send: (requestId: string) => Promise<RawResponse>,
  expected: Rejection,
): Promise<{ response: RawResponse; row: AuditRow }> {
  const db = app.database.url;
  const requestId = nextRequestId();
  const [auditBefore, replayBefore] = await Promise.all([countRows(db, 'audit_events'), countRows(db, 'replay_guard')]);

  const response = await send(requestId);

  expect(response.status).toBe(expected.status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = response.json();
  expect(Object.keys(body).sort()).toEqual(
    expected.field === undefined
      ? ['error', 'message', 'requestId', 'statusCode']
      : ['details', 'error', 'message', 'requestId', 'statusCode'],
  );
  expect(body).toEqual({
    statusCode: expected.status,
    error: expected.error,
    message: expect.any(String),
    requestId,
    ...(expected.field !== undefined && { details: [{ field: expected.field, problem: expect.any(String) }] }),
  });
  if (expected.status === 401) {
    expect(body).toEqual({ ...UNAUTHENTICATED, requestId });
    // RFC 6750 §3: error="invalid_token" only when the refused request carried a bearer token. Basic (RFC 7617) is
    // offered besides where basic callers are configured, to a request that carried no bearer token.
    expect(response.headers['www-authenticate']).toMatch(
      /^Bearer realm="webhook-fulfillment"(, error="invalid_token"|, Basic realm="webhook-fulfillment", charset="UTF-8")?$/,
    );
    unauthenticatedBodies.push(JSON.stringify(without(body, 'requestId')));
  }
  expectResponseHasNoSecrets(response);

  const row = await waitForAuditRow(db, (candidate) => candidate.request_id === requestId);
  expect(row).toMatchObject({ event: expected.event, reason: expected.reason, outcome: 'failure' });
  if (expected.method !== undefined) expect(row.method).toBe(expected.method);
  if (expected.callerId !== undefined) expect(row.caller_id).toBe(expected.callerId);
  expectNoSecrets(JSON.stringify(row));
  expect(await countRows(db, 'audit_events')).toBe(auditBefore + 1);
  expect(await countRows(db, 'replay_guard')).toBe(replayBefore);
  return { response, row };
}

const unauthenticated = (reason: string, method: string | null): Rejection => ({
  status: 401,
  error: 'UNAUTHENTICATED',
  event: 'authn_login_fail',
  reason,
  method,
});
/** A credential header with bad syntax: 400 naming it, audited as the refused credential it was before. */
const malformedHeader = (field: string, method: string): Rejection => ({
  status: 400,
  error: 'MALFORMED_REQUEST',
  event: 'authn_login_fail',
  reason: 'malformed-signature',
  method,
  field,
});
const duplicateHeader: Rejection = {
  status: 400,
  error: 'MALFORMED_REQUEST',
  event: 'input_validation_fail',
  reason: 'duplicate-header',
};

// ---- Redis ----

/** Open TCP connections from this process to Redis. */
function redisSockets(): Socket[] {
  const port = Number(new URL(testRedisUrl()).port || 6379);
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter(
    (handle): handle is Socket => handle instanceof Socket && handle.remotePort === port && !handle.destroyed,
  );
}

type RedisClient = { disconnect(): void; status: string };

/**
 * The throttler's ioredis client, found by duck typing. Only a safety net for afterAll: if a regression left it
 * open, ioredis would reconnect forever and keep jest from exiting (the test below reports the leak itself).
 */
function throttlerRedisClient(app: TestApp): RedisClient | undefined {
  const storage = app.app.get<unknown>(getStorageToken(), { strict: false }) as {
    redis?: RedisClient;
    inner?: { redis?: RedisClient };
  };
  return storage.redis ?? storage.inner?.redis;
}

// ---- the tests ----

describe('webhook security: signatures, basic, authorization, throttling, audit, reload (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;
  let callersFile: string;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    const passwordHash = await hashPassword(PASSWORD);
    callersFile = writeCallersFile('callers.yaml', {
      callers: [
        { id: 'sw-bot', platforms: ['dialogflow-es'], auth: { standardWebhooks: { secrets: SW_SECRETS } } },
        {
          id: 'hdr-bot',
          platforms: ['dialogflow-es'],
          auth: {
            headerSignature: {
              header: 'x-signature',
              algorithm: 'sha256',
              encoding: 'hex',
              prefix: 'sha256=',
              secrets: [HDR_SECRET],
            },
          },
        },
        {
          id: 'basic-bot',
          platforms: ['dialogflow-es'],
          auth: { basic: { username: 'basic-bot', passwordHashes: [passwordHash] } },
        },
        { ...bearerCaller('rasa-only', [RASA_TOKEN]), platforms: ['rasa'] },
        bearerCaller('slow-lane', [SLOW_TOKEN], { rateLimit: { requests: 3, perSeconds: 60 } }),
      ],
    });
    t = await startTestApp({ env: { CALLERS_FILE: callersFile } });
    apps.push(t);
  });

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    rmSync(workDir, { recursive: true, force: true });
  });

  describe('Standard Webhooks (sw-bot)', () => {
    it('accepts a request signed with the first secret and remembers its webhook-id once', async () => {
      const before = await countRows(t.database.url, 'replay_guard');
      const headers = standardWebhookHeaders();
      expectFulfilled(await post(t, { headers }));
      const rows = await replayGuardRows(t);
      expect(rows).toHaveLength(before + 1);
      expect(rows).toContainEqual({ caller_id: 'sw-bot', message_id: headers['webhook-id'] });
    });

    it('accepts the second (rotated) secret', async () => {
      const before = await countRows(t.database.url, 'replay_guard');
      expectFulfilled(await post(t, { headers: standardWebhookHeaders({ key: SW_KEYS[1] }) }));
      expect(await countRows(t.database.url, 'replay_guard')).toBe(before + 1);
    });

    it('accepts a header with several signatures when one of them is valid', async () => {
      const headers = standardWebhookHeaders();
      const garbage = `v1,${randomBytes(32).toString('base64')}`;
      const signature = `v1a,${randomBytes(64).toString('base64')} ${garbage} ${headers['webhook-signature']}`;
      expectFulfilled(await post(t, { headers: { ...headers, 'webhook-signature': signature } }));
    });

    it('accepts a timestamp exactly 300 s old', async () => {
      const timestamp = (await alignedNowSeconds()) - 300;
      expectFulfilled(await post(t, { headers: standardWebhookHeaders({ timestamp }) }));
    });

    it('refuses a signature made with a secret it does not know (401 bad-signature)', async () => {
      const headers = standardWebhookHeaders({ key: decodeStandardWebhookSecret(whsec()) });
      await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        unauthenticated('bad-signature', 'standardWebhooks'),
      );
    });

    it('refuses a body with one byte changed after signing', async () => {
      const headers = standardWebhookHeaders();
      await expectRejected(
        t,
        (requestId) => post(t, { headers, body: tamper(BODY), requestId }),
        unauthenticated('bad-signature', 'standardWebhooks'),
      );
    });

    it('refuses the same JSON re-serialised with other whitespace (signatures cover bytes, not objects)', async () => {
      const headers = standardWebhookHeaders({ body: JSON.stringify(README_REQUEST) });
      const pretty = JSON.stringify(README_REQUEST, null, 2);
      expect(JSON.parse(pretty)).toEqual(JSON.parse(BODY));
      await expectRejected(
        t,
        (requestId) => post(t, { headers, body: pretty, requestId }),
        unauthenticated('bad-signature', 'standardWebhooks'),
      );
    });

    it('refuses a timestamp 301 s old (401 timestamp-out-of-window)', async () => {
      const headers = standardWebhookHeaders({ timestamp: nowSeconds() - 301 });
      const { row } = await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        unauthenticated('timestamp-out-of-window', 'standardWebhooks'),
      );
      expect(row.detail).toBe('timestamp-too-old');
    });

    it('refuses a timestamp 301 s in the future', async () => {
      const timestamp = (await alignedNowSeconds()) + 301;
      const headers = standardWebhookHeaders({ timestamp });
      const { row } = await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        unauthenticated('timestamp-out-of-window', 'standardWebhooks'),
      );
      expect(row.detail).toBe('timestamp-in-future');
    });

    it('lets an identical repeat of a webhook-id through once more (a redelivery), remembering the id once', async () => {
      const headers = standardWebhookHeaders();
      const before = await countRows(t.database.url, 'replay_guard');
      const first = await post(t, { headers });
      expectFulfilled(first);
      const again = await post(t, { headers });
      expectFulfilled(again);
      expect(await countRows(t.database.url, 'replay_guard')).toBe(before + 1);
    });

    /** Another body signed under `headers`' id and timestamp: the signature is good, the id is reused. */
    function reusedId(headers: ReturnType<typeof standardWebhookHeaders>) {
      const body = tamper(BODY);
      const timestamp = Number(headers['webhook-timestamp']);
      return { body, headers: standardWebhookHeaders({ id: headers['webhook-id'], timestamp, body }) };
    }

    async function expectReusedIdRefused(response: RawResponse): Promise<void> {
      expect(response.status).toBe(422);
      const body = response.json();
      expect(body).toMatchObject({
        statusCode: 422,
        error: 'IDEMPOTENCY_KEY_REUSED',
        details: [{ field: 'webhook-id', problem: expect.any(String) }],
      });
      expectResponseHasNoSecrets(response);
      // Audited once (issue 18 part 9), against the signer; waited for so it cannot land in the next test's count.
      const row = await waitForAuditRow(t.database.url, (candidate) => candidate.request_id === body.requestId);
      expect(row).toMatchObject({ event: 'sequence_fail', reason: 'webhook-id-reused', caller_id: 'sw-bot' });
    }

    it('refuses another body signed under a seen webhook-id (422 IDEMPOTENCY_KEY_REUSED)', async () => {
      const headers = standardWebhookHeaders();
      expectFulfilled(await post(t, { headers }));
      await expectReusedIdRefused(await post(t, reusedId(headers)));
    });

    it('binds a webhook-id to its body for as long as the message timestamp is accepted (window >= timestamp window)', async () => {
      // A message stamped at the future edge (now + 300 s) is accepted until the clock reads now + 600 s
      // (whole seconds, inclusive). Simulate 600 s passing, on both clocks: the stored expiry moves 600 s
      // back (the database's view) and Date.now() reads the last millisecond of that same second (the app's).
      const second = await alignedNowSeconds();
      const headers = standardWebhookHeaders({ timestamp: second + 300 });
      expectFulfilled(await post(t, { headers }));
      const [stored] = await queryTestDatabase<{ expires: number }>(
        t.database.url,
        `SELECT extract(epoch FROM expires_at)::float8 AS expires FROM replay_guard WHERE message_id = $1`,
        [headers['webhook-id']],
      );
      const simulatedNowMs = (second + 600) * 1000 + 999;
      // The entry outlives the last moment the signature is accepted (with a margin for clock differences).
      expect(stored.expires * 1000).toBeGreaterThan(simulatedNowMs);
      // Simulate 600 s passing on the database's clock too: the entry must still be there.
      await queryTestDatabase(
        t.database.url,
        `UPDATE replay_guard SET expires_at = expires_at - interval '600 seconds' WHERE message_id = $1`,
        [headers['webhook-id']],
      );
      const clock = jest.spyOn(Date, 'now').mockReturnValue(simulatedNowMs);
      let response: RawResponse;
      try {
        response = await post(t, reusedId(headers));
      } finally {
        clock.mockRestore();
      }
      await expectReusedIdRefused(response);
    });

    it('refuses a webhook-id signed for another message (id swapped after signing)', async () => {
      const headers = { ...standardWebhookHeaders(), 'webhook-id': nextMessageId() };
      await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        unauthenticated('bad-signature', 'standardWebhooks'),
      );
    });

    it('refuses a timestamp changed after signing, even one still inside the window', async () => {
      const signed = nowSeconds() - 10;
      const headers = { ...standardWebhookHeaders({ timestamp: signed }), 'webhook-timestamp': String(signed + 1) };
      await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        unauthenticated('bad-signature', 'standardWebhooks'),
      );
    });

    it('refuses a truncated signature', async () => {
      const headers = standardWebhookHeaders();
      const digest = Buffer.from(headers['webhook-signature'].slice(3), 'base64').subarray(0, 16);
      const truncated = { ...headers, 'webhook-signature': `v1,${digest.toString('base64')}` };
      await expectRejected(
        t,
        (requestId) => post(t, { headers: truncated, requestId }),
        unauthenticated('bad-signature', 'standardWebhooks'),
      );
    });

    it('refuses a request without webhook-timestamp (401 malformed-signature)', async () => {
      const headers = without(standardWebhookHeaders(), 'webhook-timestamp');
      const { row } = await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        unauthenticated('malformed-signature', 'standardWebhooks'),
      );
      expect(row.detail).toBe('missing-headers');
    });

    it('refuses a request without webhook-id', async () => {
      const headers = without(standardWebhookHeaders(), 'webhook-id');
      await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        unauthenticated('malformed-signature', 'standardWebhooks'),
      );
    });

    it('refuses a timestamp that is not integer seconds (400 MALFORMED_REQUEST)', async () => {
      const headers = { ...standardWebhookHeaders(), 'webhook-timestamp': new Date().toISOString() };
      const { row } = await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        malformedHeader('webhook-timestamp', 'standardWebhooks'),
      );
      expect(row.detail).toBe('malformed-timestamp');
    });

    it('refuses a signature header that is not a list of <version>,<base64> (400 MALFORMED_REQUEST)', async () => {
      const headers = { ...standardWebhookHeaders(), 'webhook-signature': 'v1,not*base64 v2,AAAA sha256=abcdef' };
      const { row } = await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        malformedHeader('webhook-signature', 'standardWebhooks'),
      );
      expect(row.detail).toBe('malformed-signature');
    });

    it('refuses two webhook-signature headers in one request (400 MALFORMED_REQUEST)', async () => {
      const headers = standardWebhookHeaders();
      const other = standardWebhookHeaders({ id: headers['webhook-id'], key: SW_KEYS[1] });
      const { row, response } = await expectRejected(
        t,
        (requestId) =>
          post(t, {
            headers: { ...headers, 'webhook-signature': [other['webhook-signature'], headers['webhook-signature']] },
            requestId,
          }),
        duplicateHeader,
      );
      expect(row.detail).toBe('webhook-signature');
      expect(response.json().message).toBe('The request has more than one webhook-signature header.');
    });
  });

  describe('header signature (hdr-bot)', () => {
    it('accepts a good signature', async () => {
      expectFulfilled(await post(t, { headers: { 'x-signature': headerSignature() } }));
    });

    it('accepts the hex digest in upper case', async () => {
      const signature = headerSignature();
      const upper = `sha256=${signature.slice('sha256='.length).toUpperCase()}`;
      expect(upper).not.toBe(signature);
      expectFulfilled(await post(t, { headers: { 'x-signature': upper } }));
    });

    it('writes nothing to replay_guard (it has no message id)', async () => {
      const before = await countRows(t.database.url, 'replay_guard');
      expectFulfilled(await post(t, { headers: { 'x-signature': headerSignature() } }));
      expect(await countRows(t.database.url, 'replay_guard')).toBe(before);
    });

    it('refuses a signature made with another secret (401 bad-signature)', async () => {
      const headers = { 'x-signature': headerSignature(BODY, randomBytes(24).toString('hex')) };
      await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        unauthenticated('bad-signature', 'headerSignature'),
      );
    });

    it('refuses a signature without its "sha256=" prefix (400 MALFORMED_REQUEST)', async () => {
      const headers = { 'x-signature': headerSignature().slice('sha256='.length) };
      await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        malformedHeader('x-signature', 'headerSignature'),
      );
    });

    it('refuses the prefix in another case ("SHA256=")', async () => {
      const headers = { 'x-signature': `SHA256=${headerSignature().slice('sha256='.length)}` };
      await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        malformedHeader('x-signature', 'headerSignature'),
      );
    });

    it('refuses a base64 digest where hex is configured', async () => {
      const headers = { 'x-signature': headerSignature(BODY, HDR_SECRET, { ...HDR_SCHEME, encoding: 'base64' }) };
      await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        malformedHeader('x-signature', 'headerSignature'),
      );
    });

    it('refuses an HMAC-SHA512 digest under the sha256 scheme', async () => {
      const headers = { 'x-signature': headerSignature(BODY, HDR_SECRET, { ...HDR_SCHEME, algorithm: 'sha512' }) };
      await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        unauthenticated('bad-signature', 'headerSignature'),
      );
    });

    it('refuses a body with one byte changed after signing', async () => {
      const headers = { 'x-signature': headerSignature(BODY) };
      await expectRejected(
        t,
        (requestId) => post(t, { headers, body: tamper(BODY), requestId }),
        unauthenticated('bad-signature', 'headerSignature'),
      );
    });

    it('refuses two x-signature headers (400 MALFORMED_REQUEST)', async () => {
      const good = headerSignature();
      const { row } = await expectRejected(
        t,
        (requestId) => post(t, { headers: { 'x-signature': [good, 'sha256=00'] }, requestId }),
        duplicateHeader,
      );
      expect(row.detail).toBe('x-signature');
    });
  });

  describe('basic (basic-bot)', () => {
    it('accepts the right password over loopback in NODE_ENV=test (local development)', async () => {
      expectFulfilled(await post(t, { headers: { Authorization: basicCredentials('basic-bot', PASSWORD) } }));
    });

    it('refuses a wrong password (401 bad-password)', async () => {
      const headers = { Authorization: basicCredentials('basic-bot', 'correct horse battery stapler') };
      const { row } = await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        unauthenticated('bad-password', 'basic'),
      );
      expect(row.detail).toBe('basic-bot');
    });

    it('refuses an unknown user with the same answer, even with the real password', async () => {
      const headers = { Authorization: basicCredentials('basic-bot-2', PASSWORD) };
      await expectRejected(t, (requestId) => post(t, { headers, requestId }), unauthenticated('bad-password', 'basic'));
    });

    it('refuses credentials without a ":" separator', async () => {
      const headers = { Authorization: `Basic ${Buffer.from(`basic-bot${PASSWORD}`).toString('base64')}` };
      const { row } = await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        unauthenticated('unknown-token', 'basic'),
      );
      expect(row.detail).toBe('malformed basic credentials');
    });

    it('refuses two Authorization headers (400 MALFORMED_REQUEST)', async () => {
      const good = basicCredentials('basic-bot', PASSWORD);
      const { row } = await expectRejected(
        t,
        (requestId) => post(t, { headers: { Authorization: [good, `Bearer ${SLOW_TOKEN}`] }, requestId }),
        duplicateHeader,
      );
      expect(row.detail).toBe('authorization');
    });

    describe('in production behind a TLS-terminating proxy (plain HTTP to the service)', () => {
      let production: TestApp;

      beforeAll(async () => {
        production = await startTestApp({
          env: { NODE_ENV: 'production', TLS_TERMINATED_BY_PROXY: 'true', CALLERS_FILE: callersFile },
        });
        apps.push(production);
      });

      it('accepts basic credentials: TLS ended at the trusted proxy', async () => {
        const headers = { Authorization: basicCredentials('basic-bot', PASSWORD) };
        expectFulfilled(await post(production, { headers }));
      });

      it('still accepts a signed request there', async () => {
        expectFulfilled(await post(production, { headers: { 'x-signature': headerSignature() } }));
      });
    });
  });

  describe('authorization', () => {
    it('answers 403 to a known caller that may not call this platform', async () => {
      const headers = { Authorization: `Bearer ${RASA_TOKEN}` };
      const { response, row } = await expectRejected(t, (requestId) => post(t, { headers, requestId }), {
        status: 403,
        error: 'FORBIDDEN',
        event: 'authz_fail',
        reason: 'platform-not-allowed',
        method: 'bearer',
        callerId: 'rasa-only',
      });
      expect(response.headers['www-authenticate']).toBeUndefined();
      expect(row.detail).toBe('dialogflow-es');
    });

    it('answers 401 with WWW-Authenticate to a request without credentials', async () => {
      const { response } = await expectRejected(
        t,
        (requestId) => post(t, { requestId }),
        unauthenticated('no-credentials', null),
      );
      expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
    });

    it('treats an Authorization scheme it does not support as no credentials', async () => {
      const headers = { Authorization: `Digest username="basic-bot", response="${randomBytes(16).toString('hex')}"` };
      await expectRejected(t, (requestId) => post(t, { headers, requestId }), unauthenticated('no-credentials', null));
    });

    it('refuses an unknown bearer token', async () => {
      const headers = { Authorization: `Bearer ${token('nobody')}` };
      await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        unauthenticated('unknown-token', 'bearer'),
      );
    });

    it("refuses a caller's token sent under the wrong scheme", async () => {
      const headers = { Authorization: `Token ${SLOW_TOKEN}` };
      await expectRejected(t, (requestId) => post(t, { headers, requestId }), unauthenticated('no-credentials', null));
    });
  });

  describe('throttling', () => {
    let limited: RawResponse;

    it('gives slow-lane 3 requests, then 429 RATE_LIMITED (audited), while another caller is unaffected', async () => {
      const headers = { Authorization: `Bearer ${SLOW_TOKEN}` };
      for (let index = 0; index < 3; index++) expectFulfilled(await post(t, { headers }));
      const { response, row } = await expectRejected(t, (requestId) => post(t, { headers, requestId }), {
        status: 429,
        error: 'RATE_LIMITED',
        event: 'excess_rate_limit_exceeded',
        reason: 'rate-limit',
        callerId: 'slow-lane',
      });
      limited = response;
      expect(row.detail).toBe('3 per 60 s');
      expectFulfilled(await post(t, { headers: { 'x-signature': headerSignature() } }));
    });

    it('audits a block once: a caller that keeps sending through it writes no row per refusal', async () => {
      const headers = { Authorization: `Bearer ${SLOW_TOKEN}` };
      const statuses: number[] = [];
      for (let index = 0; index < 20; index++) statuses.push((await post(t, { headers })).status);
      expect(statuses).toEqual(Array(20).fill(429));
      // A refusal's row is queued before its 429 is sent: once the queue is written out, every row they made is in.
      await t.app.get(AuditLog).flush();
      const rows = (await auditRows(t.database.url)).filter(
        (row) => row.caller_id === 'slow-lane' && row.event === 'excess_rate_limit_exceeded',
      );
      expect(rows).toHaveLength(1);
    });

    it('tells the throttled caller when to retry in a standard Retry-After header (positive integer seconds)', () => {
      expect(limited).toBeDefined();
      expect(limited.json().message).toMatch(/Retry-After/);
      // Named exactly Retry-After (RFC 9110 §10.2.3), not a variant clients and proxies do not know.
      expect(Object.keys(limited.headers).filter((name) => name.startsWith('retry-after'))).toEqual(['retry-after']);
      expect(limited.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    });
  });

  describe('audit hygiene', () => {
    it('stores an unknown basic username with CR/LF in it by its digest only: no forged line, no CR/LF', async () => {
      const headers = { Authorization: basicCredentials('evil\r\nforged-line', PASSWORD) };
      const { row } = await expectRejected(
        t,
        (requestId) => post(t, { headers, requestId }),
        unauthenticated('bad-password', 'basic'),
      );
      expect(row.detail).toBe(unknownUsername('evil\r\nforged-line'));
      expect(JSON.stringify(row)).not.toContain('forged-line');
      for (const value of Object.values(row)) {
        if (typeof value === 'string') expect(value).not.toMatch(/[\r\n]/);
      }
    });

    it('never stores a password, token or secret in any column of any audit row', async () => {
      const rows = await auditRows(t.database.url);
      expect(rows.length).toBeGreaterThanOrEqual(25);
      for (const row of rows) expectNoSecrets(JSON.stringify(row));
    });

    it('wrote exactly one audit row per refused request and none for accepted ones', async () => {
      // Everything queued so far written out: a row an accepted request made would be in.
      await t.app.get(AuditLog).flush();
      const rows = await auditRows(t.database.url);
      const perRequest = new Map<string, number>();
      for (const row of rows) perRequest.set(row.request_id ?? '', (perRequest.get(row.request_id ?? '') ?? 0) + 1);
      expect([...perRequest.entries()].filter(([, count]) => count !== 1)).toEqual([]);
      expect(rows.every((row) => row.request_id?.startsWith('sec-'))).toBe(true);
    });

    it('answers every 401 with the same body whatever check failed', () => {
      expect(unauthenticatedBodies.length).toBeGreaterThanOrEqual(20);
      expect(new Set(unauthenticatedBodies)).toEqual(new Set([JSON.stringify(UNAUTHENTICATED)]));
    });
  });

  describe('two replicas sharing Redis', () => {
    const sharedId = `shared-bot-${randomBytes(6).toString('hex')}`;
    let a: TestApp;
    let b: TestApp;
    let closed = false;
    let redisClients: RedisClient[] = [];

    beforeAll(async () => {
      const REDIS_URL = testRedisUrl();
      const file = writeCallersFile('shared-callers.yaml', {
        callers: [bearerCaller(sharedId, [SHARED_TOKEN], { rateLimit: { requests: 4, perSeconds: 60 } })],
      });
      [a, b] = await Promise.all([0, 1].map(() => startTestApp({ env: { CALLERS_FILE: file, REDIS_URL } })));
      redisClients = [a, b].map(throttlerRedisClient).filter((client) => client !== undefined);
    });

    const closeBoth = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      await Promise.all([a?.close(), b?.close()]);
    };

    afterAll(async () => {
      await closeBoth();
      for (const client of redisClients) if (client.status !== 'end') client.disconnect();
    });

    it('shares one budget: 2 requests on A and 2 on B pass, the 5th is 429 on either', async () => {
      const headers = { Authorization: `Bearer ${SHARED_TOKEN}` };
      expectFulfilled(await post(a, { headers }));
      expectFulfilled(await post(b, { headers }));
      expectFulfilled(await post(a, { headers }));
      expectFulfilled(await post(b, { headers }));
      const rejection: Rejection = {
        status: 429,
        error: 'RATE_LIMITED',
        event: 'excess_rate_limit_exceeded',
        reason: 'rate-limit',
        callerId: sharedId,
      };
      await expectRejected(a, (requestId) => post(a, { headers, requestId }), rejection);
      await expectRejected(b, (requestId) => post(b, { headers, requestId }), rejection);
    });

    it('closes its Redis connections when the apps close', async () => {
      expect(redisSockets().length).toBeGreaterThan(0);
      await closeBoth();
      const deadline = Date.now() + 1000;
      while (redisSockets().length > 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(redisSockets().map((socket) => `${socket.localAddress}:${socket.localPort}`)).toEqual([]);
    });
  });

  describe('callers file reload', () => {
    let r: TestApp;
    let file: string;
    const oldCaller = bearerCaller('reload-old', [RELOAD_OLD_TOKEN]);
    const bearer = (value: string) => ({ Authorization: `Bearer ${value}` });

    beforeAll(async () => {
      file = writeCallersFile('reload-callers.yaml', { callers: [oldCaller] });
      r = await startTestApp({ env: { CALLERS_FILE: file, CALLERS_RELOAD_INTERVAL_MS: '200' } });
      apps.push(r);
    });

    it('does not know the new token before the file changes', async () => {
      await expectRejected(
        r,
        (requestId) => post(r, { headers: bearer(RELOAD_NEW_TOKEN), requestId }),
        unauthenticated('unknown-token', 'bearer'),
      );
    });

    it('picks up callers added to the file within seconds and audits sys_config_reload', async () => {
      const signedCaller = {
        id: 'reload-hdr',
        platforms: ['dialogflow-es'],
        auth: { headerSignature: { header: 'x-reload-signature', prefix: 'sha256=', secrets: [HDR_SECRET] } },
      };
      writeCallersFile('reload-callers.yaml', {
        callers: [oldCaller, bearerCaller('reload-new', [RELOAD_NEW_TOKEN]), signedCaller],
      });
      const row = await waitForAuditRow(
        r.database.url,
        (candidate) => candidate.event === 'sys_config_reload',
        5000,
        50,
      );
      expect(row).toMatchObject({ outcome: 'success', reason: 'callers-file', detail: file });
      expectFulfilled(await post(r, { headers: bearer(RELOAD_NEW_TOKEN) }));
      expectFulfilled(await post(r, { headers: bearer(RELOAD_OLD_TOKEN) }));
      expectFulfilled(await post(r, { headers: { 'x-reload-signature': headerSignature() } }));
    });

    it('keeps the current callers when the new file is invalid, and audits sys_config_reload_fail once', async () => {
      const auditBefore = await countRows(r.database.url, 'audit_events');
      writeCallersFile('reload-callers.yaml', {
        callers: [oldCaller, { ...bearerCaller('reload-new', [RELOAD_NEW_TOKEN]), platforms: ['not-a-platform'] }],
      });
      const row = await waitForAuditRow(
        r.database.url,
        (candidate) => candidate.event === 'sys_config_reload_fail',
        5000,
        50,
      );
      expect(row).toMatchObject({ outcome: 'failure', reason: 'callers-file' });
      expect(row.detail).toContain('platforms');
      expectNoSecrets(JSON.stringify(row));
      expectFulfilled(await post(r, { headers: bearer(RELOAD_OLD_TOKEN) }));
      expectFulfilled(await post(r, { headers: bearer(RELOAD_NEW_TOKEN) }));
      // The unchanged (still invalid) file is not reported again on every poll: several polls, then the queue out.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await r.app.get(AuditLog).flush();
      const rows = await auditRows(r.database.url);
      expect(rows.filter((candidate) => candidate.event === 'sys_config_reload_fail')).toHaveLength(1);
      expect(rows).toHaveLength(auditBefore + 1);
    });
  });
});
