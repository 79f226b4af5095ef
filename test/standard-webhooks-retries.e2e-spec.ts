import { Injectable, Module } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signStandardWebhook } from '../src/auth/hmac/standard-webhooks';
import { FulfillmentHandler, FulfillmentRequest, FulfillmentResult, IntentHandler } from '../src/fulfillment';
import { countRows } from './support/audit-events';
import { type RawResponse, sendRaw } from './support/raw-http';
import { testRedisUrl } from './support/redis';
import { type RedisClusterForTests, startRedisCluster } from './support/redis-cluster';
import { startService } from './support/service-process';
import { startTestApp, TestApp } from './support/test-app';

const PATH = '/v1/webhooks/generic';
const KEY = randomBytes(32);

/** A state-changing handler that counts its runs, so a replayed response is told apart from a second run. */
@IntentHandler('TestSwDeposit', { changesState: true })
@Injectable()
class DepositHandler implements FulfillmentHandler {
  readonly runs: string[] = [];

  handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    this.runs.push(request.requestId);
    return Promise.resolve({ text: `deposit run ${this.runs.length} at ${Date.now()}` });
  }
}

@Module({ providers: [DepositHandler] })
class DepositModule {}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const nextId = (): string => `msg_${randomUUID().replace(/-/g, '')}`;

function deposit(amount = 10): string {
  return JSON.stringify({ sessionId: `sw-${randomUUID()}`, intent: 'TestSwDeposit', parameters: { amount } });
}

function signedHeaders(id: string, body: string, timestamp = nowSeconds()): Record<string, string> {
  const signature = signStandardWebhook({
    webhookId: id,
    timestampSeconds: timestamp,
    rawBody: Buffer.from(body),
    secret: KEY,
  });
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
}

function send(app: TestApp, body: string, headers: Record<string, string>): Promise<RawResponse> {
  return sendRaw(app.baseUrl, PATH, { headers: { 'content-type': 'application/json', ...headers }, body });
}

const workDir = mkdtempSync(join(tmpdir(), 'wf-sw-retries-'));
const callersFile = join(workDir, 'callers.yaml');
writeFileSync(
  callersFile,
  [
    'callers:',
    '  - id: sw-sender',
    '    platforms: [generic]',
    `    auth: { standardWebhooks: { secrets: [whsec_${KEY.toString('base64')}] } }`,
    '',
  ].join('\n'),
);

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

let cluster: RedisClusterForTests | undefined;
afterAll(() => cluster?.stop());

describe.each([
  ['PostgreSQL', (): Promise<Record<string, string>> => Promise.resolve({})],
  ['Redis', (): Promise<Record<string, string>> => Promise.resolve({ REDIS_URL: testRedisUrl() })],
  [
    'a Redis Cluster',
    async (): Promise<Record<string, string>> => {
      cluster = await startRedisCluster();
      return { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' };
    },
  ],
])('Standard Webhooks senders as they really behave (replay window in %s; real HTTP)', (_store, env) => {
  let t: TestApp;
  let handler: DepositHandler;

  beforeAll(async () => {
    t = await startTestApp({ env: { CALLERS_FILE: callersFile, ...(await env()) }, imports: [DepositModule] });
    handler = t.app.get(DepositHandler);
  });
  afterAll(() => t.close());

  describe('webhook-id syntax (rule 1)', () => {
    it.each([
      ['a full stop', 'msg.1'],
      ['a space', 'msg 1'],
      ['more than 255 characters', 'm'.repeat(256)],
      ['a quote', 'msg"1'],
      ['nothing', ''],
    ])('answers an id with %s 400 MALFORMED_REQUEST naming webhook-id, and runs nothing', async (_label, id) => {
      const body = deposit();
      const before = await countRows(t.database.url, 'replay_guard');
      const response = await send(t, body, signedHeaders(id, body));
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.json()).toEqual({
        statusCode: 400,
        error: 'MALFORMED_REQUEST',
        message: 'The webhook-id header is not a valid message id.',
        details: [{ field: 'webhook-id', problem: expect.stringContaining('1 to 255') }],
        requestId: expect.any(String),
      });
      expect(response.text).not.toMatch(/\bat \w+ \(/);
      expect(await countRows(t.database.url, 'replay_guard')).toBe(before);
      expect(handler.runs).not.toContain(id);
    });

    it('accepts an id of exactly 255 token characters', async () => {
      const body = deposit();
      // Unique per run: the Redis replay window outlives a run, and a rerun must not find this id taken.
      const id = nextId().padEnd(255, 'x');
      const response = await send(t, body, signedHeaders(id, body));
      expect(response.status).toBe(200);
      expect(response.json()).toMatchObject({ requestId: id, outcome: 'fulfilled' });
    });

    it('still answers a missing webhook-id as a missing credential (401)', async () => {
      const body = deposit();
      const { 'webhook-id': _id, ...headers } = signedHeaders(nextId(), body);
      expect((await send(t, body, headers)).status).toBe(401);
    });
  });

  describe('retries and repeats (rule 2)', () => {
    it('answers a sender retry (same id and body, new timestamp, new signature) with the first response', async () => {
      const id = nextId();
      const body = deposit();
      const first = await send(t, body, signedHeaders(id, body, nowSeconds() - 30));
      expect(first.status).toBe(200);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      // The webhook-id is the turn's key when the body has no requestId.
      expect(first.json()).toMatchObject({ requestId: id, outcome: 'fulfilled' });

      const retry = await send(t, body, signedHeaders(id, body, nowSeconds()));
      expect(retry.status).toBe(200);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.text).toBe(first.text);
      expect(handler.runs.filter((run) => run === id)).toHaveLength(1);
    });

    it('refuses a captured request sent again under an Idempotency-Key of its own: the handler runs once', async () => {
      const id = nextId();
      const body = deposit();
      const headers = signedHeaders(id, body);
      const first = await send(t, body, headers);
      expect(first.status).toBe(200);
      // Same bytes, same signature, and an unsigned header naming a new turn: it would have run the deposit again.
      for (const key of ['"replayed-1"', '"replayed-2"']) {
        const replayed = await send(t, body, { ...headers, 'idempotency-key': key });
        expect(replayed.status).toBe(400);
        expect(replayed.json()).toMatchObject({
          error: 'VALIDATION_FAILED',
          details: [{ field: 'Idempotency-Key', problem: expect.stringContaining('not covered by the signature') }],
        });
      }
      // The sender's own key, the same as its webhook-id, is its retry.
      const retry = await send(t, body, { ...headers, 'idempotency-key': `"${id}"` });
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(handler.runs.filter((run) => run === id)).toHaveLength(1);
      expect(handler.runs).not.toContain('replayed-1');
    });

    it('answers an identical repeat (same id, timestamp and body) with the first response', async () => {
      const id = nextId();
      const body = deposit();
      const headers = signedHeaders(id, body);
      const first = await send(t, body, headers);
      const again = await send(t, body, headers);
      expect(first.status).toBe(200);
      expect(again.status).toBe(200);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.text).toBe(first.text);
      expect(handler.runs.filter((run) => run === id)).toHaveLength(1);
    });

    it('answers concurrent deliveries of one message with one run', async () => {
      const id = nextId();
      const body = deposit();
      const replies = await Promise.all(
        [0, 1, 2, 3].map((offset) => send(t, body, signedHeaders(id, body, nowSeconds() - offset))),
      );
      expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200, 200]);
      expect(new Set(replies.map((reply) => reply.text)).size).toBe(1);
      expect(handler.runs.filter((run) => run === id)).toHaveLength(1);
    });

    it('refuses another body under a seen id with 422 IDEMPOTENCY_KEY_REUSED naming webhook-id', async () => {
      const id = nextId();
      const body = deposit(10);
      expect((await send(t, body, signedHeaders(id, body))).status).toBe(200);
      const other = deposit(99);
      const refused = await send(t, other, signedHeaders(id, other));
      expect(refused.status).toBe(422);
      expect(refused.json()).toEqual({
        statusCode: 422,
        error: 'IDEMPOTENCY_KEY_REUSED',
        message: expect.stringContaining('webhook-id'),
        details: [{ field: 'webhook-id', problem: expect.any(String) }],
        requestId: expect.any(String),
      });
      expect(handler.runs.filter((run) => run === id)).toHaveLength(1);
      // The first message is still bound to the id: its retry keeps getting the stored response.
      const retry = await send(t, body, signedHeaders(id, body));
      expect(retry.headers['idempotent-replayed']).toBe('true');
    });

    it('binds an id signed without a body to its path: the same poll again goes through, another path is refused', async () => {
      // A poll is signed over `id.timestamp.` alone: before, the captured headers read any other fulfillment too.
      const headers = signedHeaders(nextId(), '');
      const poll = (path: string) => sendRaw(t.baseUrl, path, { method: 'GET', headers });
      expect((await poll('/v1/fulfillments/poll-a')).status).toBe(404);
      expect((await poll('/v1/fulfillments/poll-a')).status).toBe(404);
      const elsewhere = await poll('/v1/fulfillments/poll-b');
      expect(elsewhere.status).toBe(422);
      expect(elsewhere.json()).toMatchObject({
        error: 'IDEMPOTENCY_KEY_REUSED',
        details: [{ field: 'webhook-id', problem: expect.stringContaining('another path') }],
      });
      // The id is spent on the poll: a deposit under it is another message.
      const body = deposit();
      expect((await send(t, body, signedHeaders(headers['webhook-id'], body))).status).toBe(422);
    });

    it('binds no id to a call refused after its signature was checked (a platform the caller may not call): the corrected call goes through', async () => {
      const id = nextId();
      const wrong = JSON.stringify({ queryResult: { intent: { displayName: 'TestSwDeposit' } } });
      const refused = await sendRaw(t.baseUrl, '/v1/webhooks/dialogflow-es', {
        headers: { 'content-type': 'application/json', ...signedHeaders(id, wrong) },
        body: wrong,
      });
      expect(refused.status).toBe(403);
      const body = deposit(7);
      expect((await send(t, body, signedHeaders(id, body))).status).toBe(200);
      expect(handler.runs.filter((run) => run === id)).toHaveLength(1);
    });

    it('does not let a retry signed with a wrong secret through (401)', async () => {
      const id = nextId();
      const body = deposit();
      expect((await send(t, body, signedHeaders(id, body))).status).toBe(200);
      const forged = signStandardWebhook({
        webhookId: id,
        timestampSeconds: nowSeconds(),
        rawBody: Buffer.from(body),
        secret: randomBytes(32),
      });
      const response = await send(t, body, { ...signedHeaders(id, body), 'webhook-signature': forged });
      expect(response.status).toBe(401);
    });
  });
});

describe('Standard Webhooks secret sizes at start-up (rule 3; the built service)', () => {
  it.each([
    ['shorter than 24 bytes', 16],
    ['longer than 64 bytes', 65],
  ])('refuses to start with a secret %s, in one line naming the caller', async (_label, bytes) => {
    const secret = randomBytes(bytes).toString('base64');
    const file = join(workDir, `callers-${bytes}.yaml`);
    writeFileSync(
      file,
      [
        'callers:',
        '  - id: good-sender',
        '    platforms: [generic]',
        `    auth: { standardWebhooks: { secrets: [whsec_${randomBytes(32).toString('base64')}] } }`,
        '  - id: weak-sender',
        '    platforms: [generic]',
        `    auth: { standardWebhooks: { secrets: [whsec_${secret}] } }`,
        '',
      ].join('\n'),
    );
    const service = startService({ CALLERS_FILE: file, DATABASE_URL: process.env.DATABASE_URL ?? '' });
    expect((await service.exited).code).toBe(1);
    const lines = service
      .output()
      .split('\n')
      .filter((line) => line.includes('standardWebhooks.secrets'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('callers[1].auth.standardWebhooks.secrets[0]: caller "weak-sender"');
    expect(lines[0]).toContain(`decodes to ${bytes} bytes`);
    expect(service.output()).not.toContain(secret);
    expect(service.output()).not.toMatch(/\n\s+at /);
  });
});
