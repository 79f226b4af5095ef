import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { accountBalances, transferTurnBody } from './support/generic-turns';
import { startRedisCluster, type RedisClusterForTests } from './support/redis-cluster';
import { generateCertificates, pem } from './support/tls-fixtures';
import { freePort, type ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, type TestDatabase } from './support/test-database';

const PATH = '/v1/webhooks/generic';
const RUN = randomBytes(4).toString('hex');
const TOKEN = `cluster-token-${RUN}-0123456789abcdef`;
const LIMITED_TOKEN = `cluster-limited-${RUN}-0123456789abcdef`;

interface Replica {
  readonly service: ServiceProcess;
  readonly url: string;
}

type GenericReply = { contexts?: { parameters: { balance?: number } }[]; text: string };

const balanceTurn = () => ({
  requestId: randomUUID(),
  sessionId: `session-${randomUUID()}`,
  intent: 'GetAccountBalance',
  parameters: { user_id: '12345', account_type: 'checking' },
});

async function send(replica: Replica, body: object, token = TOKEN): Promise<Response> {
  return fetch(`${replica.url}${PATH}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function balanceOn(replica: Replica): Promise<number | undefined> {
  const response = await send(replica, balanceTurn());
  expect(response.status).toBe(200);
  return ((await response.json()) as GenericReply).contexts?.[0]?.parameters.balance;
}

/**
 * Two service processes on one PostgreSQL and a real three-master Redis Cluster (REDIS_CLUSTER=true, REDIS_URL
 * naming one node): the shared rate limits and the shared cache tier work across the cluster's nodes.
 */
describe('Redis Cluster (REDIS_CLUSTER=true, three masters, two service processes)', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'wf-redis-cluster-e2e-'));
  let cluster: RedisClusterForTests;
  let database: TestDatabase;
  let a: Replica;
  let b: Replica;

  async function startReplica(env: Record<string, string> = {}): Promise<Replica> {
    const port = await freePort();
    const service = startService({
      NODE_ENV: 'development',
      DATABASE_URL: database.url,
      REDIS_URL: cluster.url,
      REDIS_CLUSTER: 'true',
      CALLERS_FILE: join(workDir, 'callers.yaml'),
      PORT: String(port),
      LOG_LEVEL: 'info',
      // Entries would outlive the test: only invalidation can make a replica read the new balance.
      CACHE_LOCAL_TTL_MS: '600000',
      ...env,
    });
    return { service, url: `http://127.0.0.1:${port}` };
  }

  beforeAll(async () => {
    writeFileSync(
      join(workDir, 'callers.yaml'),
      [
        'callers:',
        '  - id: cluster-bot',
        '    platforms: [generic]',
        `    auth: { bearer: { tokens: [${TOKEN}] } }`,
        '  - id: cluster-limited',
        '    platforms: [generic]',
        `    auth: { bearer: { tokens: [${LIMITED_TOKEN}] } }`,
        '    rateLimit: { requests: 4, perSeconds: 600 }',
        '',
      ].join('\n'),
    );
    [cluster, database] = await Promise.all([startRedisCluster(), createTestDatabase()]);
    [a, b] = await Promise.all([startReplica(), startReplica()]);
    await Promise.all([a.service.waitFor(/"msg":"Listening/), b.service.waitFor(/"msg":"Listening/)]);
  }, 90_000);

  afterAll(async () => {
    for (const replica of [a, b]) {
      replica?.service.child.kill('SIGTERM');
      await replica?.service.exited;
    }
    await database?.drop();
    await cluster?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('shares one rate-limit budget: 2 requests on A and 2 on B pass, the 5th is 429 on either', async () => {
    for (const replica of [a, b, a, b]) expect((await send(replica, balanceTurn(), LIMITED_TOKEN)).status).toBe(200);
    for (const replica of [a, b]) {
      const refused = await send(replica, balanceTurn(), LIMITED_TOKEN);
      expect(refused.status).toBe(429);
      expect(await refused.json()).toMatchObject({ error: 'RATE_LIMITED' });
    }
  });

  it('a transfer on A, then the balance on B right after A answers, is never stale (one shared cache tier)', async () => {
    expect(await balanceOn(a)).toBe(3247.82);
    expect(await balanceOn(b)).toBe(3247.82);
    for (let round = 1; round <= 10; round++) {
      const [writer, reader] = round % 2 === 0 ? [b, a] : [a, b];
      const transfer = await send(writer, transferTurnBody(randomUUID(), '12345', 100n));
      expect(transfer.status).toBe(200);
      const expected = Number((await accountBalances(database.url, '12345')).checking) / 100;
      expect(expected).toBeCloseTo(3247.82 - round, 2);
      expect(await balanceOn(reader)).toBeCloseTo(expected, 2);
    }
  });

  it('keeps its keys in the cluster: the cache under one hash tag, the counters spread by theirs', async () => {
    const nodes = cluster.ports.map((port) => new Redis(port, '127.0.0.1'));
    try {
      const keysByNode = await Promise.all(nodes.map((node) => node.keys('*')));
      const all = keysByNode.flat();
      expect(all.some((key) => /^\{wf:cache:[^}]+\}:g:/.test(key))).toBe(true);
      expect(all.some((key) => /^\{wf:cache:[^}]+\}:v:/.test(key))).toBe(true);
      // Every cache key of the namespace on one node (a read's MGET and an invalidation's script span several).
      const cacheNodes = keysByNode.filter((keys) => keys.some((key) => key.startsWith('{wf:cache:')));
      expect(cacheNodes).toHaveLength(1);
      expect(all.some((key) => key.includes('cluster-limited'))).toBe(true);
    } finally {
      nodes.forEach((node) => node.disconnect());
    }
    // No command met a key on another node (a start on a busy machine may log a slow first slot map, and retry).
    expect(a.service.output()).not.toMatch(/CROSSSLOT|MOVED|ASK \d/);
    expect(b.service.output()).not.toMatch(/CROSSSLOT|MOVED|ASK \d/);
  });

  it('says what to set when REDIS_URL names a cluster node and REDIS_CLUSTER is not set', async () => {
    const lone = await startReplica({ REDIS_CLUSTER: 'false' });
    try {
      await lone.service.waitFor(/"msg":"Listening/);
      // Rate limits fail open (the turns are answered) and the log says why and what to do.
      for (let turn = 0; turn < 6; turn += 1) expect((await send(lone, balanceTurn())).status).toBe(200);
      await lone.service.waitFor(/MOVED \d+ [^"]*\(REDIS_URL is a node of a Redis Cluster: set REDIS_CLUSTER=true\)/);
    } finally {
      lone.service.child.kill('SIGTERM');
      await lone.service.exited;
    }
  });

  it('reaches a cluster over TLS (rediss://): every node, and the redirections between them', async () => {
    const certs = join(workDir, 'certs');
    generateCertificates(certs);
    const secure = await startRedisCluster({ tlsCerts: certs });
    const replica = await startReplica({ REDIS_URL: secure.url, NODE_EXTRA_CA_CERTS: join(certs, 'ca.crt') });
    try {
      await replica.service.waitFor(/"msg":"Listening/);
      // The budget of 4 is spent and then refused (a turn sent before the cluster's slot map arrived is let through
      // uncounted: rate limits fail open).
      const statuses: number[] = [];
      while (statuses.length < 12 && statuses.at(-1) !== 429) {
        statuses.push((await send(replica, balanceTurn(), LIMITED_TOKEN)).status);
      }
      expect(statuses.filter((status) => status !== 200)).toEqual([429]);
      expect(statuses.length).toBeGreaterThanOrEqual(5);
      // The counters are in the TLS cluster (not this file's other one, whose budget is spent already).
      const counted = await Promise.all(
        secure.ports.map(async (port) => {
          const client = new Redis(port, '127.0.0.1', { tls: { ca: pem(certs, 'ca.crt') } });
          try {
            return await client.keys('*cluster-limited*');
          } finally {
            client.disconnect();
          }
        }),
      );
      expect(counted.flat().length).toBeGreaterThan(0);
      expect(replica.service.output()).not.toMatch(/CROSSSLOT|MOVED|ASK \d/);
    } finally {
      replica.service.child.kill('SIGTERM');
      await replica.service.exited;
      await secure.stop();
    }
  }, 60_000);
});
