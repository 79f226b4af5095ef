import { dump as toYaml } from 'js-yaml';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { OutgoingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HeaderSignatureScheme, signHeaderSignature } from '../src/auth/hmac/header-signature';
import { decodeStandardWebhookSecret, signStandardWebhook } from '../src/auth/hmac/standard-webhooks';
import { type AuditRow, waitForAuditRow } from './support/audit-events';
import { README_REQUEST } from './support/dialogflow-es.fixtures';
import { type RawResponse, sendRaw } from './support/raw-http';
import { startTestApp, TestApp } from './support/test-app';

const PATH = '/v1/webhooks/dialogflow-es';
const BODY = JSON.stringify(README_REQUEST);
const SW_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const SW_KEY = decodeStandardWebhookSecret(SW_SECRET);
const HDR_SECRET = randomBytes(24).toString('hex');
const HDR_SCHEME: HeaderSignatureScheme = {
  header: 'x-signature',
  algorithm: 'sha256',
  encoding: 'hex',
  prefix: 'sha256=',
  timestampHeader: 'x-signature-timestamp',
};
const BEARER_TOKEN = `bearer-${randomBytes(16).toString('hex')}`;

const nowSeconds = (): number => Math.floor(Date.now() / 1000);
let counter = 0;
const nextId = (prefix: string): string => `${prefix}-${++counter}-${randomBytes(4).toString('hex')}`;

function standardWebhookHeaders(timestamp = nowSeconds(), key = SW_KEY): Record<string, string> {
  const id = nextId('msg');
  const signature = signStandardWebhook({
    webhookId: id,
    timestampSeconds: timestamp,
    rawBody: Buffer.from(BODY),
    secret: key,
  });
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
}

function headerSignatureHeaders(timestamp = nowSeconds(), secret = HDR_SECRET): Record<string, string> {
  const signature = signHeaderSignature({
    scheme: HDR_SCHEME,
    rawBody: Buffer.from(BODY),
    secret: Buffer.from(secret, 'utf8'),
    timestampSeconds: timestamp,
  });
  return { 'x-signature': signature, 'x-signature-timestamp': String(timestamp) };
}

/**
 * Errors that are about the request's syntax, not about its credentials: 400 MALFORMED_REQUEST naming the header
 * (without echoing it), still audited; a wrong credential stays 401. Real HTTP, real PostgreSQL for the audit trail.
 */
describe('credential headers with bad syntax are 400, wrong credentials 401 (real HTTP)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-auth-syntax-'));
  let t: TestApp;

  beforeAll(async () => {
    const file = join(dir, 'callers.yaml');
    writeFileSync(
      file,
      toYaml({
        callers: [
          { id: 'sw-bot', platforms: ['dialogflow-es'], auth: { standardWebhooks: { secrets: [SW_SECRET] } } },
          {
            id: 'hdr-bot',
            platforms: ['dialogflow-es'],
            auth: { headerSignature: { ...HDR_SCHEME, secrets: [HDR_SECRET] } },
          },
          { id: 'bearer-bot', platforms: ['dialogflow-es'], auth: { bearer: { tokens: [BEARER_TOKEN] } } },
        ],
      }),
    );
    t = await startTestApp({ env: { CALLERS_FILE: file } });
  });

  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function send(headers: OutgoingHttpHeaders): Promise<{ response: RawResponse; row: () => Promise<AuditRow> }> {
    const requestId = nextId('syntax');
    const response = await sendRaw(t.baseUrl, PATH, {
      headers: { 'Content-Type': 'application/json', 'X-Request-Id': requestId, ...headers },
      body: BODY,
    });
    return { response, row: () => waitForAuditRow(t.database.url, (row) => row.request_id === requestId) };
  }

  async function expectMalformed(
    headers: OutgoingHttpHeaders,
    field: string,
    audit: { reason: string; method: string | null; detail?: string },
  ): Promise<void> {
    const { response, row } = await send(headers);
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual({
      statusCode: 400,
      error: 'MALFORMED_REQUEST',
      message: `The ${field} header is malformed.`,
      details: [{ field, problem: expect.any(String) }],
      requestId: expect.any(String),
    });
    const value = String(headers[field]);
    if (value.length > 6) expect(response.text).not.toContain(value);
    expect(await row()).toMatchObject({ event: 'authn_login_fail', outcome: 'failure', ...audit });
  }

  async function expectUnauthenticated(headers: OutgoingHttpHeaders, reason: string): Promise<void> {
    const { response, row } = await send(headers);
    expect(response.status).toBe(401);
    expect(response.json()).toMatchObject({ statusCode: 401, error: 'UNAUTHENTICATED' });
    expect(await row()).toMatchObject({ event: 'authn_login_fail', reason });
  }

  describe('Standard Webhooks', () => {
    it('answers 400 to a webhook-timestamp that is not integer seconds', async () => {
      const headers = { ...standardWebhookHeaders(), 'webhook-timestamp': new Date().toISOString() };
      await expectMalformed(headers, 'webhook-timestamp', {
        reason: 'malformed-signature',
        method: 'standardWebhooks',
        detail: 'malformed-timestamp',
      });
    });

    it.each([
      ['no version', () => randomBytes(32).toString('base64')],
      ['bad base64', () => 'v1,not*base64'],
      ['one bad entry among good ones', () => `${standardWebhookHeaders()['webhook-signature']} sha256=abcdef`],
    ])('answers 400 to a webhook-signature with %s', async (_name, signature) => {
      const headers = { ...standardWebhookHeaders(), 'webhook-signature': signature() };
      await expectMalformed(headers, 'webhook-signature', {
        reason: 'malformed-signature',
        method: 'standardWebhooks',
        detail: 'malformed-signature',
      });
    });

    it('keeps 401 for a well-formed signature made with another secret', async () => {
      const other = decodeStandardWebhookSecret(`whsec_${randomBytes(32).toString('base64')}`);
      await expectUnauthenticated(standardWebhookHeaders(nowSeconds(), other), 'bad-signature');
    });

    it('keeps 401 for an expired timestamp', async () => {
      await expectUnauthenticated(standardWebhookHeaders(nowSeconds() - 301), 'timestamp-out-of-window');
    });

    it('accepts a good signature', async () => {
      expect((await send(standardWebhookHeaders())).response.status).toBe(200);
    });
  });

  describe('header signature with a timestamp header', () => {
    it('answers 400 to a malformed timestamp, naming the configured header', async () => {
      const headers = { ...headerSignatureHeaders(), 'x-signature-timestamp': '1.7e9' };
      await expectMalformed(headers, 'x-signature-timestamp', {
        reason: 'malformed-signature',
        method: 'headerSignature',
        detail: 'malformed-timestamp',
      });
    });

    it.each([
      ['without its prefix', (s: string) => s.slice('sha256='.length)],
      ['with the prefix in another case', (s: string) => `SHA256=${s.slice('sha256='.length)}`],
      [
        'in base64 where hex is configured',
        (s: string) => `sha256=${Buffer.from(s.slice(7), 'hex').toString('base64')}`,
      ],
    ])('answers 400 to a signature %s', async (_name, change) => {
      const headers = headerSignatureHeaders();
      await expectMalformed({ ...headers, 'x-signature': change(headers['x-signature']) }, 'x-signature', {
        reason: 'malformed-signature',
        method: 'headerSignature',
        detail: 'malformed-signature',
      });
    });

    it('answers 400 to a malformed signature even when its timestamp is also stale', async () => {
      const headers = { ...headerSignatureHeaders(nowSeconds() - 1000), 'x-signature': 'sha256=xyz' };
      await expectMalformed(headers, 'x-signature', { reason: 'malformed-signature', method: 'headerSignature' });
    });

    it('keeps 401 for a well-formed signature made with another secret', async () => {
      await expectUnauthenticated(
        headerSignatureHeaders(nowSeconds(), randomBytes(24).toString('hex')),
        'bad-signature',
      );
    });

    it('keeps 401 for an expired timestamp', async () => {
      await expectUnauthenticated(headerSignatureHeaders(nowSeconds() - 301), 'timestamp-out-of-window');
    });

    it('accepts a good signature', async () => {
      expect((await send(headerSignatureHeaders())).response.status).toBe(200);
    });
  });

  describe('Authorization', () => {
    it.each([
      ['"Bearer" with no token', 'Bearer', 'bearer'],
      ['a bearer token with a space in it', `Bearer ${BEARER_TOKEN} extra`, 'bearer'],
      ['a bearer token with characters outside b64token', `Bearer ${BEARER_TOKEN}%00`, 'bearer'],
      ['"Basic" with no credentials', 'Basic', 'basic'],
      ['a scheme that is not a token', `"Bearer" ${BEARER_TOKEN}`, null],
    ])('answers 400 to %s', async (_name, authorization, method) => {
      await expectMalformed({ Authorization: authorization }, 'authorization', {
        reason: 'unknown-token',
        method,
        detail: 'malformed authorization header',
      });
    });

    it('accepts several spaces between scheme and token (1*SP)', async () => {
      expect((await send({ Authorization: `Bearer   ${BEARER_TOKEN}` })).response.status).toBe(200);
    });

    it('keeps 401 for a well-formed but unknown bearer token', async () => {
      await expectUnauthenticated(
        { Authorization: `Bearer unknown-${randomBytes(16).toString('hex')}` },
        'unknown-token',
      );
    });

    it('keeps 401 (no credentials) for a well-formed scheme it does not support', async () => {
      await expectUnauthenticated({ Authorization: 'Digest username="bot", response="abc"' }, 'no-credentials');
    });
  });
});
