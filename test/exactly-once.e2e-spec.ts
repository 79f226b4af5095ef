import { Module } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { once } from 'node:events';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { createHttpApp } from '../src/app.factory';
import { Retention } from '../src/async/retention';
import {
  idempotencyKeyOf,
  FulfillmentHandler,
  FulfillmentRequest,
  FulfillmentResult,
  IntentHandler,
} from '../src/fulfillment';
import { canonicalHash } from '../src/idempotency/canonical-hash';
import { loadConfig } from '../src/config';
import { waitForAuditRow } from './support/audit-events';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { untilDefined } from './support/eventually';
import { transferTurnBody } from './support/generic-turns';
import { freePort, ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, queryTestDatabase, TestDatabase } from './support/test-database';

const PATH = '/v1/webhooks/generic';
const HEADERS = { ...LOCAL_DEV_AUTH, 'content-type': 'application/json' };

/**
 * The turn budget of these replicas. 50 concurrent duplicates on a loaded 2-core CI machine must all be answered
 * within it (as platforms allow 5-10 s), while the slow lookup below must outlive it. The owner's turn takes about
 * 0.7 s on an idle machine and 1.2 s beside two busy cores; 1.5 s was exceeded twice in full CI runs.
 */
const DEADLINE_MS = 2500;
const SLOW_LOOKUP_MS = 4000;

/** Slower than the generic deadline: the caller gets the interim reply, the result comes later. */
@IntentHandler('TestSlowLookup')
class SlowLookupHandler implements FulfillmentHandler {
  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    await new Promise((resolve) => setTimeout(resolve, SLOW_LOOKUP_MS));
    return { text: `Found it for ${request.sessionId}.`, payload: { found: true } };
  }
}

@Module({ providers: [SlowLookupHandler] })
class SlowLookupModule {}

async function startApp(database: TestDatabase, env: Record<string, string> = {}): Promise<NestExpressApplication> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'fatal',
    DB_POOL_SIZE: '6',
    ASYNC_POLL_INTERVAL_MS: '500',
    METRICS_ENABLED: 'false',
    GRPC_ENABLED: 'false',
    ...env,
    DATABASE_URL: database.url,
    PORT: '0',
  });
  const app = await createHttpApp(config, [SlowLookupModule]);
  await app.listen(0, '127.0.0.1');
  return app;
}

const urlOf = (app: NestExpressApplication) =>
  `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;

async function post(baseUrl: string, body: unknown): Promise<{ status: number; text: string; replayed: boolean }> {
  const response = await fetch(`${baseUrl}${PATH}`, { method: 'POST', headers: HEADERS, body: JSON.stringify(body) });
  return {
    status: response.status,
    text: await response.text(),
    replayed: response.headers.has('idempotent-replayed'),
  };
}

/** A TransferFunds turn of `dollars` from customer 12345's checking to savings. */
function transfer(requestId: string, dollars: number): Record<string, unknown> {
  return transferTurnBody(requestId, '12345', BigInt(dollars * 100));
}

async function checking(url: string): Promise<bigint> {
  const [row] = await queryTestDatabase<{ balance_minor: string }>(
    url,
    `SELECT a.balance_minor FROM accounts a JOIN customers c ON c.id = a.customer_id
      WHERE c.customer_number = '12345' AND a.account_type = 'checking'`,
  );
  return BigInt(row?.balance_minor ?? '0');
}

describe('exactly-once effects across two replicas on one PostgreSQL (real HTTP)', () => {
  let database: TestDatabase;
  let a: NestExpressApplication;
  let b: NestExpressApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    [a, b] = await Promise.all([
      startApp(database, { GENERIC_DEADLINE_MS: String(DEADLINE_MS) }),
      startApp(database, { GENERIC_DEADLINE_MS: String(DEADLINE_MS) }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await database?.drop();
  });

  it('50 concurrent duplicates of a TransferFunds turn, split across both replicas, move the money once', async () => {
    const before = await checking(database.url);
    const body = transfer(randomUUID(), 25);
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, index) => post(urlOf(index % 2 === 0 ? a : b), body)),
    );

    expect(replies.map((reply) => reply.status)).toEqual(Array(50).fill(200));
    // Every reply the same text (a failure shows the odd ones: an interim reply, a pool that was out of time).
    expect([...new Set(replies.map((reply) => reply.text))]).toEqual([replies[0].text]);
    expect(replies.filter((reply) => !reply.replayed)).toHaveLength(1);
    expect(JSON.parse(replies[0].text)).toMatchObject({ outcome: 'fulfilled', text: expect.stringMatching(/^Done/) });
    expect(await checking(database.url)).toBe(before - 2500n);
    const transfers = await queryTestDatabase(database.url, `SELECT 1 FROM transfers`);
    expect(transfers).toHaveLength(1);
  });

  it('a retry after completion gets the stored reply; the same id with another body gets 422', async () => {
    const body = transfer(randomUUID(), 10);
    const first = await post(urlOf(a), body);
    const retry = await post(urlOf(b), { ...body, parameters: { ...(body.parameters as object) } });
    expect(retry).toEqual({ ...first, replayed: true });

    const other = await post(urlOf(b), { ...body, parameters: { ...(body.parameters as object), amount: 11 } });
    expect(other.status).toBe(422);
    expect(JSON.parse(other.text)).toMatchObject({ statusCode: 422, error: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('read-only intents skip the idempotency store; a state-changing turn writes one record', async () => {
    // Read-only intents skip the store: the replay is only for state-changing ones.
    const balance = await post(urlOf(a), {
      requestId: 'shared-id',
      sessionId: 's',
      intent: 'GetAccountBalance',
      parameters: { user_id: '12345', account_type: 'checking' },
    });
    expect(balance.status).toBe(200);
    expect(balance.replayed).toBe(false);
    const rows = await queryTestDatabase(database.url, `SELECT 1 FROM idempotency_records WHERE platform = 'generic'`);
    const before = rows.length;
    await post(urlOf(a), { ...transfer('shared-id', 1) });
    expect(await queryTestDatabase(database.url, `SELECT 1 FROM idempotency_records`)).toHaveLength(before + 1);
  });

  it('a duplicate of a turn whose owner went silent gets 409 with Retry-After; after the lease, a retry runs it', async () => {
    const body = transfer(randomUUID(), 3);
    const key = idempotencyKeyOf({
      caller: { id: 'local-dev', platforms: [] },
      platform: 'generic',
      requestId: body.requestId as string,
    });
    // A replica claimed the turn and then stopped answering (its lease still runs for a moment).
    await queryTestDatabase(
      database.url,
      `INSERT INTO idempotency_records (caller_id, key, platform, request_hash, state, owner, lease_expires_at, expires_at)
       VALUES ('local-dev', $1, 'generic', $2, 'in-flight', 'silent-replica', now() + interval '4000 ms',
               now() + interval '1 day')`,
      [key, canonicalHash(body)],
    );
    const before = await checking(database.url);
    const started = Date.now();
    const requestId = `eo-409-${randomUUID()}`;
    const conflict = await fetch(`${urlOf(a)}${PATH}`, {
      method: 'POST',
      headers: { ...HEADERS, 'x-request-id': requestId },
      body: JSON.stringify(body),
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(conflict.status).toBe(409);
    expect(conflict.headers.get('retry-after')).toBe('1');
    expect(await conflict.json()).toMatchObject({ error: 'IDEMPOTENCY_IN_PROGRESS' });
    expect(await checking(database.url)).toBe(before);
    // An idempotency conflict is a refusal like any other: audited with the OWASP vocabulary.
    const audited = await waitForAuditRow(database.url, (row) => row.request_id === requestId);
    expect(audited).toMatchObject({
      event: 'sequence_fail',
      outcome: 'failure',
      reason: 'idempotency_in_progress',
      route: `POST ${PATH}`,
      caller_id: 'local-dev',
    });

    // The lease leaves the duplicate's wait (and a slow, busy machine) a wide margin; then it runs out.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + 4000 - Date.now())));
    const retried = await post(urlOf(b), body);
    expect(JSON.parse(retried.text)).toMatchObject({ outcome: 'fulfilled', text: expect.stringMatching(/^Done/) });
    expect(await checking(database.url)).toBe(before - 300n);
  });

  it('expired records are purged by the retention job', async () => {
    await queryTestDatabase(
      database.url,
      `INSERT INTO idempotency_records (caller_id, key, platform, request_hash, state, owner, expires_at)
       VALUES ('local-dev', repeat('e', 64), 'generic', repeat('0', 64), 'completed', 'x', now() - interval '1 minute')`,
    );
    const purged = await a.get(Retention).purge();
    expect(purged.idempotency).toBeGreaterThanOrEqual(1);
    expect(
      await queryTestDatabase(database.url, `SELECT 1 FROM idempotency_records WHERE key = repeat('e', 64)`),
    ).toEqual([]);
  });

  it('an async turn whose queueing outlives the deadline: the interim reply names the fulfillment, which completes', async () => {
    // Queueing waits on the fulfillments table, locked (as by a long migration or a vacuum) past the deadline.
    const lock = new Client({ connectionString: database.url });
    await lock.connect();
    let id: string;
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE fulfillments IN SHARE ROW EXCLUSIVE MODE');
      const reply = await post(urlOf(a), {
        requestId: randomUUID(),
        sessionId: `queue-${randomUUID()}`,
        intent: 'RequestStatement',
        parameters: { user_id: '12345' },
      });
      const interim = JSON.parse(reply.text) as { outcome: string; sessionParameters?: Record<string, string> };
      expect(interim.outcome).toBe('timed-out');
      id = interim.sessionParameters?.pendingFulfillmentId ?? '';
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      await lock.end();
    }
    const done = await untilDefined(async () => {
      const polled = await fetch(`${urlOf(b)}/v1/fulfillments/${id}`, { headers: LOCAL_DEV_AUTH });
      const json = (await polled.json()) as { status?: string; intent?: string };
      return json.status === 'completed' ? json : undefined;
    });
    expect(done).toMatchObject({ intent: 'RequestStatement' });
  });

  it('a handler slower than the deadline: interim reply in time, the result kept and fetched later', async () => {
    const sessionId = `slow-${randomUUID()}`;
    const reply = await post(urlOf(a), { requestId: randomUUID(), sessionId, intent: 'TestSlowLookup' });
    const interim = JSON.parse(reply.text) as { outcome: string; sessionParameters: { pendingFulfillmentId: string } };
    expect(interim.outcome).toBe('timed-out');
    const id = interim.sessionParameters.pendingFulfillmentId;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    // The next turn (any replica) fetches it through the built-in PendingFulfillment intent; while the work
    // still runs, that turn waits within its own budget and may get the interim reply again.
    const next = await untilDefined(async () => {
      const reply = await post(urlOf(b), {
        requestId: randomUUID(),
        sessionId,
        intent: 'PendingFulfillment',
        sessionParameters: { pendingFulfillmentId: id },
      });
      const json = JSON.parse(reply.text) as { text: string };
      return json.text.startsWith('Found') ? json : undefined;
    });
    expect(next).toMatchObject({
      text: `Found it for ${sessionId}.`,
      payload: { found: true },
      sessionParameters: { pendingFulfillmentId: null },
    });

    const polled = await fetch(`${urlOf(b)}/v1/fulfillments/${id}`, { headers: LOCAL_DEV_AUTH });
    expect(polled.status).toBe(200);
    expect(await polled.json()).toMatchObject({ id, status: 'completed', intent: 'TestSlowLookup' });
  });
});

describe('async job taken over after its replica is killed (real processes)', () => {
  let database: TestDatabase;
  let archive: Server;
  let archiveUrl: string;
  const archiveCalls: { key: string | undefined; body: string; response: ServerResponse }[] = [];
  let first: ServiceProcess | undefined;
  let second: ServiceProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    archive = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () =>
        archiveCalls.push({
          key: request.headers['idempotency-key'] as string,
          body: Buffer.concat(chunks).toString('utf8'),
          response,
        }),
      );
    });
    archive.listen(0, '127.0.0.1');
    await once(archive, 'listening');
    archiveUrl = `http://127.0.0.1:${(archive.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const service of [first, second]) {
      if (service && service.child.exitCode === null && service.child.signalCode === null) {
        service.child.kill('SIGKILL');
        await service.exited;
      }
    }
    archive.closeAllConnections();
    await new Promise((resolve) => archive.close(resolve));
    await database?.drop();
  });

  it('SIGKILL while RequestStatement runs: another instance finishes it, one statement is filed', async () => {
    const env = (port: number): Record<string, string> => ({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      DATABASE_URL: database.url,
      PORT: String(port),
      STATEMENT_ARCHIVE_URL: archiveUrl,
      ASYNC_JOB_TIMEOUT_MS: '2000',
      ASYNC_MAINTENANCE_INTERVAL_SECONDS: '1',
      ASYNC_POLL_INTERVAL_MS: '500',
    });
    const portA = await freePort();
    first = startService(env(portA));
    await first.waitFor(/Listening on/);

    const body = {
      requestId: randomUUID(),
      sessionId: 'statement-session',
      intent: 'RequestStatement',
      parameters: { user_id: '12345', account_type: 'checking' },
    };
    const ack = await post(`http://127.0.0.1:${portA}`, body);
    expect(ack.status).toBe(200);
    const id = (JSON.parse(ack.text) as { sessionParameters: { pendingFulfillmentId: string } }).sessionParameters
      .pendingFulfillmentId;

    // The job is running on the first instance and waiting on the archive: kill it there.
    await untilDefined(() => Promise.resolve(archiveCalls.length >= 1 ? true : undefined)).catch((error: Error) => {
      throw new Error(`${error.message}\n${first?.output() ?? ''}`);
    });
    first.child.kill('SIGKILL');
    await first.exited;

    const portB = await freePort();
    second = startService(env(portB));
    await second.waitFor(/Listening on/);
    await untilDefined(() => Promise.resolve(archiveCalls.length >= 2 ? true : undefined), 20_000).catch(
      (error: Error) => {
        throw new Error(`${error.message}\n${second?.output() ?? ''}`);
      },
    );
    const retried = archiveCalls[1];
    retried.response
      .writeHead(201, { 'content-type': 'application/json' })
      .end(JSON.stringify({ reference: 'ARCH-77' }));

    const done = await untilDefined(async () => {
      const response = await fetch(`http://127.0.0.1:${portB}/v1/fulfillments/${id}`, { headers: LOCAL_DEV_AUTH });
      const json = (await response.json()) as { status: string; result: { text: string } };
      return json.status === 'completed' ? json : undefined;
    });
    expect(done.result.text).toMatch(/Reference ARCH-77\.$/);
    // The same document, under the same key: the period and figures the first run recorded before it filed.
    expect(archiveCalls[0].key).toBe(archiveCalls[1].key);
    expect(JSON.parse(archiveCalls[1].body)).toEqual(JSON.parse(archiveCalls[0].body));
    expect(await queryTestDatabase(database.url, `SELECT archive_reference FROM statements`)).toEqual([
      { archive_reference: 'ARCH-77' },
    ]);
  }, 60_000);
});
