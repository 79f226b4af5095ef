import { randomUUID } from 'node:crypto';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { testRedisUrl } from './support/redis';
import { freePort, ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, queryTestDatabase, TestDatabase } from './support/test-database';

const PATH = '/v1/webhooks/generic';

interface Replica {
  readonly service: ServiceProcess;
  readonly url: string;
  readonly metricsUrl: string;
}

type GenericReply = { contexts?: { parameters: { balance?: number } }[]; text: string };

async function post(replica: Replica, body: Record<string, unknown>): Promise<GenericReply> {
  const response = await fetch(`${replica.url}${PATH}`, {
    method: 'POST',
    headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as GenericReply;
}

const balanceTurn = (customer: string) => ({
  requestId: randomUUID(),
  sessionId: `session-${randomUUID()}`,
  intent: 'GetAccountBalance',
  parameters: { user_id: customer, account_type: 'checking' },
});

const transferTurn = (amount: number) => ({
  requestId: randomUUID(),
  sessionId: `session-${randomUUID()}`,
  intent: 'TransferFunds',
  stage: 'fulfillment',
  confirmation: 'confirmed',
  parameters: { user_id: '12345', from_account: 'checking', to_account: 'savings', amount },
});

const balanceOf = (reply: GenericReply) => reply.contexts?.[0]?.parameters.balance;

async function checkingInDatabase(database: TestDatabase, customer = '12345'): Promise<number> {
  const [row] = await queryTestDatabase<{ balance_minor: string }>(
    database.url,
    `SELECT a.balance_minor FROM accounts a JOIN customers c ON c.id = a.customer_id
      WHERE c.customer_number = $1 AND a.account_type = 'checking'`,
    [customer],
  );
  return Number(row.balance_minor) / 100;
}

async function metric(replica: Replica, pattern: RegExp): Promise<number> {
  const text = await (await fetch(replica.metricsUrl)).text();
  return text
    .split('\n')
    .filter((line) => pattern.test(line))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

/**
 * Two real service processes on one PostgreSQL and one Redis, each with its cache: what a customer sees when a
 * bot fleet spreads one conversation over replicas.
 */
describe('the read-through cache across two service processes (PostgreSQL + Redis)', () => {
  let database: TestDatabase;
  let a: Replica;
  let b: Replica;

  async function startReplica(): Promise<Replica> {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const service = startService({
      NODE_ENV: 'development',
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl(),
      PORT: String(port),
      METRICS_ENABLED: 'true',
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'info',
      // Entries would outlive the test: only invalidation can make a replica read the new balance.
      CACHE_LOCAL_TTL_MS: '600000',
    });
    return { service, url: `http://127.0.0.1:${port}`, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    [a, b] = await Promise.all([startReplica(), startReplica()]);
    await Promise.all([a.service.waitFor(/"msg":"Listening/), b.service.waitFor(/"msg":"Listening/)]);
  }, 90_000);

  afterAll(async () => {
    for (const replica of [a, b]) {
      replica?.service.child.kill('SIGTERM');
      await replica?.service.exited;
    }
    await database?.drop();
  });

  it('a transfer on A, then the balance on B right after A answers, is never stale', async () => {
    // Both replicas hold the balance in both tiers before the first transfer.
    expect(balanceOf(await post(a, balanceTurn('12345')))).toBe(3247.82);
    expect(balanceOf(await post(b, balanceTurn('12345')))).toBe(3247.82);
    const hitsBefore = await metric(b, /^cache_hits_total\{.*cache="balances"/);
    expect(balanceOf(await post(b, balanceTurn('12345')))).toBe(3247.82);
    expect(await metric(b, /^cache_hits_total\{.*cache="balances"/)).toBe(hitsBefore + 1);

    for (let round = 1; round <= 25; round++) {
      const [writer, reader] = round % 2 === 0 ? [b, a] : [a, b];
      const transfer = await post(writer, transferTurn(1));
      expect(transfer.text).toMatch(/transferred|moved/i);
      const expected = await checkingInDatabase(database);
      expect(expected).toBeCloseTo(3247.82 - round, 2);
      expect(balanceOf(await post(reader, balanceTurn('12345')))).toBeCloseTo(expected, 2);
      expect(balanceOf(await post(writer, balanceTurn('12345')))).toBeCloseTo(expected, 2);
    }
    expect(await metric(a, /^cache_invalidations_total\{.*cache="balances".*origin="remote"/)).toBeGreaterThan(0);
  });

  it("concurrent misses for one customer's balance load once per replica, and never answer another customer's", async () => {
    const loadsBefore =
      (await metric(a, /^cache_loads_total\{.*cache="balances"/)) +
      (await metric(b, /^cache_loads_total\{.*cache="balances"/));
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => post(i % 2 ? a : b, balanceTurn('67890'))));
    const expected = await checkingInDatabase(database, '67890');
    expect(new Set(replies.map(balanceOf))).toEqual(new Set([expected]));
    const loads =
      (await metric(a, /^cache_loads_total\{.*cache="balances"/)) +
      (await metric(b, /^cache_loads_total\{.*cache="balances"/)) -
      loadsBefore;
    expect(loads).toBeGreaterThanOrEqual(1);
    expect(loads).toBeLessThanOrEqual(2);
    // The other customer's balance is its own, on both replicas, cached or not.
    expect(balanceOf(await post(a, balanceTurn('12345')))).toBeCloseTo(await checkingInDatabase(database), 2);
    expect(balanceOf(await post(b, balanceTurn('67890')))).toBeCloseTo(expected, 2);
  });
});
