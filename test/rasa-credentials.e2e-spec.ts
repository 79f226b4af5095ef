// First: starts tracing with an in-memory exporter before the application exists.
import { finishedSpans, stopTracing } from './support/in-memory-tracing';

import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SpanKind } from '@opentelemetry/api';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import balanceCall from './fixtures/rasa/action_get_account_balance.json';
import { README_REQUEST } from './support/dialogflow-es.fixtures';
import { freePort, startService } from './support/service-process';
import { startTestApp, TestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';

const PATH = '/v1/webhooks/rasa';
const TOKEN = `rasa-query-token-${randomBytes(8).toString('hex')}`;
const WRONG_TOKEN = `rasa-wrong-token-${randomBytes(8).toString('hex')}`;

/** A callers file with one caller for Rasa (and generic, to show the query token is a Rasa-only credential). */
function callersFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'wf-rasa-token-')), 'callers.yaml');
  writeFileSync(
    file,
    `callers:\n  - id: rasa-prod\n    platforms: [rasa, generic]\n    auth: { bearer: { tokens: [${TOKEN}] } }\n`,
  );
  return file;
}

function traceparent(): { header: string; traceId: string } {
  const traceId = randomBytes(16).toString('hex');
  return { header: `00-${traceId}-${randomBytes(8).toString('hex')}-01`, traceId };
}

async function spansOfTrace(traceId: string): Promise<ReadableSpan[]> {
  for (let attempt = 0; ; attempt += 1) {
    const spans = (await finishedSpans()).filter((span) => span.spanContext().traceId === traceId);
    if (spans.some((span) => span.kind === SpanKind.SERVER) || attempt >= 50) return spans;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const visible = (spans: readonly ReadableSpan[]) =>
  JSON.stringify(spans.map((span) => ({ name: span.name, attributes: span.attributes, events: span.events })));

describe("Rasa's token query parameter (action_endpoint.token)", () => {
  let t: TestApp;
  const file = callersFile();

  beforeAll(async () => {
    t = await startTestApp({ env: { CALLERS_FILE: file } });
  });
  afterAll(async () => {
    await t?.close();
    await stopTracing();
  });

  it("authenticates the caller whose token it is, on the webhook and the SDK's other routes", async () => {
    const response = await request(t.baseUrl).post(`${PATH}?token=${TOKEN}`).send(balanceCall).expect(200);
    expect(response.body.responses[0]).toEqual({ text: 'Your checking account balance is $3,247.82.' });
    await request(t.baseUrl).get(`${PATH}/health?token=${TOKEN}`).expect(200);
    await request(t.baseUrl).get(`${PATH}/actions?token=${TOKEN}`).expect(200);
  });

  it('refuses a repeated token with 400, like a repeated credential header, and never echoes it', async () => {
    const response = await request(t.baseUrl).post(`${PATH}?token=${TOKEN}&token=${WRONG_TOKEN}`).send(balanceCall);
    expect(response.status).toBe(400);
    expect(response.text).toContain('more than one token query parameter');
    expect(response.text).not.toContain(TOKEN);
    expect(response.text).not.toContain(WRONG_TOKEN);
  });

  it('refuses a wrong or empty token with our usual 401 JSON', async () => {
    for (const query of [`token=${WRONG_TOKEN}`, 'token=']) {
      const response = await request(t.baseUrl).post(`${PATH}?${query}`).send(balanceCall).expect(401);
      expect(response.headers['content-type']).toMatch(/application\/json/);
      expect(response.body).toMatchObject({
        statusCode: 401,
        error: 'UNAUTHENTICATED',
        message: 'Missing or invalid credentials.',
      });
      expect(response.text).not.toContain(TOKEN);
      expect(response.text).not.toContain(WRONG_TOKEN);
    }
    await request(t.baseUrl).get(`${PATH}/actions?token=${WRONG_TOKEN}`).expect(401);
  });

  it('is no credential on the other platforms’ routes', async () => {
    await request(t.baseUrl).post(`/v1/webhooks/generic?token=${TOKEN}`).send({ intent: 'X' }).expect(401);
  });

  it('keeps the token out of the spans', async () => {
    const good = traceparent();
    const bad = traceparent();
    await request(t.baseUrl)
      .post(`${PATH}?token=${TOKEN}`)
      .set('traceparent', good.header)
      .send(balanceCall)
      .expect(200);
    await request(t.baseUrl)
      .post(`${PATH}?token=${WRONG_TOKEN}`)
      .set('traceparent', bad.header)
      .send(balanceCall)
      .expect(401);
    const spans = [...(await spansOfTrace(good.traceId)), ...(await spansOfTrace(bad.traceId))];
    const servers = spans.filter((span) => span.kind === SpanKind.SERVER);
    expect(servers.map((span) => span.attributes['url.query'])).toEqual(['token=REDACTED', 'token=REDACTED']);
    expect(spans.some((span) => span.name.startsWith('turn '))).toBe(true);
    expect(visible(spans)).not.toContain(TOKEN);
    expect(visible(spans)).not.toContain(WRONG_TOKEN);
  });

  it('keeps the token out of the logs of the built service', async () => {
    const database = await createTestDatabase();
    const port = await freePort();
    const service = startService({
      DATABASE_URL: database.url,
      PORT: String(port),
      LOG_LEVEL: 'debug',
      CALLERS_FILE: file,
    });
    try {
      await service.waitFor(/Listening on/);
      const post = (query: string, body: unknown = balanceCall) =>
        fetch(`http://127.0.0.1:${port}${PATH}?${query}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect((await post(`token=${TOKEN}`)).status).toBe(200);
      expect((await post(`token=${WRONG_TOKEN}`)).status).toBe(401);
      // A refused call (the SDK's 404) and a failing one log their own lines too.
      expect((await post(`token=${TOKEN}`, { ...balanceCall, next_action: 'action_order_pizza' })).status).toBe(404);
      expect((await post(`token=${TOKEN}`, README_REQUEST)).status).toBe(400);
      await service.waitFor(new RegExp(`"msg":"POST ${PATH} 200"`), 10_000);
      await service.waitFor(/"msg":"authn_login_fail .*reason=unknown-token/, 10_000);
      await service.waitFor(new RegExp(`"msg":"POST ${PATH} 400"`), 10_000);

      const lines = service
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.find((line) => line.msg === `POST ${PATH} 200`)).toMatchObject({
        caller_id: 'rasa-prod',
        path: PATH,
      });
      expect(service.output()).not.toContain(TOKEN);
      expect(service.output()).not.toContain(WRONG_TOKEN);
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
      await database.drop();
    }
  });
});

describe('RASA_OPEN_ENDPOINTS', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { RASA_OPEN_ENDPOINTS: 'true' } });
  });
  afterAll(() => t?.close());

  it('serves /health and /actions without credentials, as the Rasa SDK does', async () => {
    expect((await request(t.baseUrl).get(`${PATH}/health`).expect(200)).body).toEqual({ status: 'ok' });
    const actions = await request(t.baseUrl).get(`${PATH}/actions`).expect(200);
    expect(actions.body).toEqual(expect.arrayContaining([{ name: 'action_get_account_balance' }]));
    // Credentials are not even looked at: a wrong one does not close an open route.
    await request(t.baseUrl).get(`${PATH}/health`).set('Authorization', 'Bearer wrong').expect(200);
  });

  it('still refuses the webhook without credentials', async () => {
    const response = await request(t.baseUrl).post(PATH).send(balanceCall).expect(401);
    expect(response.body).toMatchObject({ statusCode: 401, error: 'UNAUTHENTICATED' });
  });
});
