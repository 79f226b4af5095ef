import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { eventually } from '../support/eventually';
import { decodeStandardWebhookSecret, signStandardWebhook } from '../../src/auth/hmac/standard-webhooks';
import { FaultCluster, PLATFORM_DEADLINE_MS, type Replica } from './support/fault-cluster';
import type { FaultProxy } from './support/fault-proxy';
import { OwnedRedis } from './support/owned-redis';
import { SENTINEL_GROUP, SentinelRedis } from './support/redis-sentinel';
import { type RedisClusterForTests, startRedisCluster } from '../support/redis-cluster';
import { recordFigures } from './support/figures';
import { runFault } from './support/fault-run';
import { within } from './support/turn-load';
import { expectNothingLostOrDoubled } from './support/verdicts';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const LIMITED_TOKEN = `limited-${randomBytes(8).toString('hex')}`;
/** Callers of the same limit whose budgets are first spent in the failover tests, one each. */
const FAILOVER_LIMITED_TOKEN = `limited-failover-${randomBytes(8).toString('hex')}`;
const HOST_LOST_LIMITED_TOKEN = `limited-host-lost-${randomBytes(8).toString('hex')}`;
const LIMIT = 5;
/** The load's caller: `local-dev`, as in development, but from the callers file. */
const LOAD_TOKEN = `load-${randomBytes(12).toString('hex')}`;

interface Reply {
  readonly status: number;
  readonly ms: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: { outcome?: string; error?: string; message?: string };
}

/** The cluster of the describe block running now. */
let cluster: FaultCluster;

/** The callers of these tests: the load's, a Standard Webhooks signer, and limited callers. */
function writeCallersFile(dir: string): string {
  const callersFile = join(dir, 'callers.yaml');
  // JSON is YAML.
  writeFileSync(
    callersFile,
    JSON.stringify({
      callers: [
        { id: 'local-dev', platforms: ['generic'], auth: { bearer: { tokens: [LOAD_TOKEN] } } },
        { id: 'signed-bot', platforms: ['generic'], auth: { standardWebhooks: { secrets: [SECRET] } } },
        {
          id: 'limited-bot',
          platforms: ['generic'],
          auth: { bearer: { tokens: [LIMITED_TOKEN] } },
          rateLimit: { requests: LIMIT, perSeconds: 600 },
        },
        ...[FAILOVER_LIMITED_TOKEN, HOST_LOST_LIMITED_TOKEN].map((token, index) => ({
          id: `limited-failover-bot-${index}`,
          platforms: ['generic'],
          auth: { bearer: { tokens: [token] } },
          rateLimit: { requests: LIMIT, perSeconds: 600 },
        })),
      ],
    }),
  );
  return callersFile;
}

async function post(replica: number, headers: Record<string, string>, body: string): Promise<Reply> {
  const started = performance.now();
  const response = await request(`http://127.0.0.1:${cluster.replicas[replica].port}/v1/webhooks/generic`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    ms: performance.now() - started,
    headers: response.headers,
    body: JSON.parse(text) as Reply['body'],
  };
}

function lookup(): string {
  const requestId = randomUUID();
  return JSON.stringify({
    requestId,
    sessionId: requestId,
    intent: 'GetAccountBalance',
    parameters: { user_id: '12345' },
  });
}

function signed(replica: number, webhookId = `msg_${randomUUID()}`, body = lookup()): Promise<Reply> {
  // One reading of the clock for the signature and its header: two could fall on either side of a second (a 401).
  const timestampSeconds = Math.floor(Date.now() / 1000);
  const signature = signStandardWebhook({
    webhookId,
    timestampSeconds,
    rawBody: Buffer.from(body),
    secret: decodeStandardWebhookSecret(SECRET),
  });
  return post(
    replica,
    { 'webhook-id': webhookId, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': signature },
    body,
  );
}

const limited = (replica: number, token = LIMITED_TOKEN): Promise<Reply> =>
  post(replica, { authorization: `Bearer ${token}` }, lookup());

/** A limited caller's budget, shared by both replicas through Redis, is used up and then refused. */
async function expectThrottledAcrossReplicas(token = LIMITED_TOKEN): Promise<void> {
  const statuses: number[] = [];
  for (let index = 0; index <= LIMIT; index += 1) statuses.push((await limited(index % 2, token)).status);
  expect(statuses).toEqual([...Array<number>(LIMIT).fill(200), 429]);
}

const turn = (intent: string, parameters: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
  const requestId = randomUUID();
  return JSON.stringify({ requestId, sessionId: requestId, intent, parameters, ...extra });
};
const transferOn = (replica: number) =>
  post(
    replica,
    { authorization: `Bearer ${LOAD_TOKEN}` },
    turn(
      'TransferFunds',
      { user_id: '12345', from_account: 'checking', to_account: 'savings', amount: 1 },
      { stage: 'fulfillment', confirmation: 'confirmed' },
    ),
  );
const balanceOn = async (replica: number) => {
  const reply = await post(
    replica,
    { authorization: `Bearer ${LOAD_TOKEN}` },
    turn('GetAccountBalance', { user_id: '12345', account_type: 'checking' }),
  );
  expect(reply.status).toBe(200);
  return (reply.body as { contexts?: { parameters: { balance?: number } }[] }).contexts?.[0]?.parameters.balance;
};
const inDatabase = async () => {
  const [row] = await cluster.query<{ balance_minor: string }>(
    `SELECT a.balance_minor FROM accounts a JOIN customers c ON c.id = a.customer_id
      WHERE c.customer_number = '12345' AND a.account_type = 'checking'`,
  );
  return Number(row.balance_minor) / 100;
};
/** A transfer on one replica, then the balance on both, each compared with the database's (`mismatches`). */
const cachedBalanceRound = async (index: number, phase: string, mismatches: string[]) => {
  const writer = index % 2;
  expect((await transferOn(writer)).status).toBe(200);
  const expected = await inDatabase();
  for (const reader of [1 - writer, writer]) {
    const seen = await balanceOn(reader);
    if (seen !== expected)
      mismatches.push(`${phase} round ${index}: replica ${reader} read ${seen}, database ${expected}`);
  }
};

/**
 * Resolves once every replica listens for the cache's invalidations on `redis`. Balances are exact across replicas
 * right after a write either way (a replica that cannot make sure it heard every invalidation does not use its
 * in-process entry); other caches of a replica whose listening connection is still coming back may serve their own
 * entries until it has, within CACHE_LOCAL_TTL_MS (see the README).
 */
async function listening(redis: OwnedRedis): Promise<void> {
  await eventually(async () => {
    const [channel] = (await redis.command('PUBSUB', 'CHANNELS', 'wf:cache:*:invalidations')) as string[];
    expect(channel).toBeDefined();
    const [, count] = (await redis.command('PUBSUB', 'NUMSUB', channel)) as [string, number];
    expect(Number(count)).toBe(cluster.replicas.length);
  }, 15_000);
}

/**
 * Redis down under load, on two replicas sharing it. The rule: what protects against forgery fails closed,
 * what only shares a budget fails open. Signed callers' replay window lives in Redis, so their requests are
 * refused (503, Retry-After) rather than accepted unchecked; rate limits are let through; bearer callers are
 * served as usual. Nothing crashes, nothing is lost, and both come back by themselves when Redis does.
 */
describe('Redis faults under load (two replicas, a Redis the test owns)', () => {
  let workDir: string;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'wf-redis-faults-'));
    const callersFile = writeCallersFile(workDir);
    cluster = await FaultCluster.start({ redis: true, env: { CALLERS_FILE: callersFile } });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('Redis killed for 4 s, then started again: replay checks fail closed, rate limits fail open, all in time', async () => {
    // Before: the replay window is shared by both replicas: a retry of the same message is answered on the
    // other replica, another body under its id refused there.
    const webhookId = `msg_${randomUUID()}`;
    const body = lookup();
    expect((await signed(0, webhookId, body)).status).toBe(200);
    expect((await signed(1, webhookId, body)).status).toBe(200);
    expect((await signed(1, webhookId, lookup())).status).toBe(422);
    await expectThrottledAcrossReplicas();

    const duringSigned: Reply[] = [];
    const duringLimited: Reply[] = [];
    const run = await runFault(
      cluster,
      {
        name: 'Redis killed (SIGKILL), started again empty',
        holdMs: 4000,
        inject: async (c) => {
          await c.redis!.kill();
          await sleep(300);
          for (let round = 0; round < 8; round += 1) {
            duringSigned.push(await signed(round % 2));
            duringLimited.push(await limited(round % 2));
            await sleep(100);
          }
        },
        heal: (c) => c.redis!.resume(),
      },
      { token: LOAD_TOKEN },
    );
    recordFigures(run.figures);

    expect(run.alive).toBe(true);
    expectNothingLostOrDoubled(run);
    // Bearer traffic did not need Redis: served normally and in time all along, readiness untouched.
    const during = within(run.attempts, run.faultWindow.from, run.faultWindow.to);
    expect(during.filter((attempt) => attempt.outcome !== 'fulfilled')).toEqual([]);
    expect(run.attempts.filter((attempt) => attempt.ms > PLATFORM_DEADLINE_MS)).toEqual([]);
    expect(run.readiness.filter((sample) => sample.status !== 200)).toEqual([]);

    // Signed callers: refused while their replay window is out of reach, with a clear, retryable answer.
    for (const reply of duringSigned) {
      expect({ status: reply.status, code: reply.body.error, retryAfter: reply.headers['retry-after'] }).toEqual({
        status: 503,
        code: 'UNAVAILABLE',
        retryAfter: '1',
      });
      expect(reply.ms).toBeLessThan(PLATFORM_DEADLINE_MS);
    }
    // The limited caller had used up its budget before the outage: let through while the counters are away.
    expect(duringLimited.map((reply) => reply.status)).toEqual(Array(duringLimited.length).fill(200));
    expect(Math.max(...duringLimited.map((reply) => reply.ms))).toBeLessThan(PLATFORM_DEADLINE_MS);

    // After: both come back by themselves (the new Redis is empty, so budgets start again).
    const until = Date.now() + 15_000;
    let back = await signed(0);
    while (back.status !== 200 && Date.now() < until) {
      await sleep(200);
      back = await signed(0);
    }
    expect(back.status).toBe(200);
    const againId = `msg_${randomUUID()}`;
    const againBody = lookup();
    expect((await signed(1, againId, againBody)).status).toBe(200);
    expect((await signed(0, againId, againBody)).status).toBe(200);
    expect((await signed(0, againId, lookup())).status).toBe(422);
    await expectThrottledAcrossReplicas();
  }, 120_000);

  it('cached balances stay exact across the replicas while Redis is killed and started again under load', async () => {
    const mismatches: string[] = [];
    const round = (index: number, phase: string) => cachedBalanceRound(index, phase, mismatches);

    // Both replicas hold the balance in both tiers before the outage.
    await listening(cluster.redis!);
    await balanceOn(0);
    await balanceOn(1);
    for (let index = 0; index < 6; index += 1) await round(index, 'before');
    const run = await runFault(
      cluster,
      {
        name: 'Redis killed (SIGKILL) under load, cached balances read across replicas',
        holdMs: 3000,
        inject: async (c) => {
          await c.redis!.kill();
          await sleep(200);
          for (let index = 0; index < 10; index += 1) await round(index, 'during');
        },
        heal: (c) => c.redis!.resume(),
      },
      { token: LOAD_TOKEN },
    );
    recordFigures(run.figures);
    // At once after Redis is back (empty), while the replicas may still be subscribing again: a balance whose
    // replica has not caught up on its notifications is not served from its in-process entry.
    for (let index = 0; index < 10; index += 1) await round(index, 'after');
    await listening(cluster.redis!);
    for (let index = 10; index < 16; index += 1) await round(index, 'after, listening again');

    expect(run.alive).toBe(true);
    expectNothingLostOrDoubled(run);
    expect(mismatches).toEqual([]);
  }, 120_000);
});

/**
 * Redis failing over behind the address the service uses (REDIS_URL names a proxy the test owns, as a managed Redis's
 * primary endpoint): the endpoint moves to the promoted replica, with the old primary living on as its replica, or
 * its host lost.
 */
describe('Redis failovers behind its endpoint, under load (two replicas)', () => {
  let workDir: string;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'wf-redis-failover-'));
    cluster = await FaultCluster.start({
      redis: true,
      redisEndpoint: true,
      env: { CALLERS_FILE: writeCallersFile(workDir) },
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  interface RedisFailover {
    readonly name: string;
    /** A limited caller whose budget nothing else spends. */
    readonly limitedToken: string;
    inject(redis: OwnedRedis, standby: OwnedRedis, path: FaultProxy): Promise<void>;
    /**
     * The cache's listening connections never write, so nothing tells them to leave a primary that lives on as a
     * replica; they go on hearing the invalidations there (a replica passes PUBLISH on).
     */
    readonly subscribersStayOnOldPrimary: boolean;
    /** Makes the cluster's Redis its primary again, for whatever runs next. */
    restore(redis: OwnedRedis): Promise<void>;
  }

  const failovers: RedisFailover[] = [
    {
      // As a managed Redis does it: the connections opened before still reach the old primary, which now answers
      // every write READONLY; only new connections reach the new primary.
      name: 'Redis failover: the replica promoted, the old primary its replica, the endpoint moved',
      limitedToken: FAILOVER_LIMITED_TOKEN,
      subscribersStayOnOldPrimary: true,
      inject: async (redis, standby, path) => {
        await standby.promote();
        await redis.follow(standby);
        path.retarget(standby.port);
      },
      restore: (redis) => redis.promote(),
    },
    {
      // The primary's host lost: its connections neither answer nor end (no RST, no FIN reaches the service).
      name: "Redis failover after the primary's host is lost: its connections silent, the replica promoted, the endpoint moved",
      limitedToken: HOST_LOST_LIMITED_TOKEN,
      subscribersStayOnOldPrimary: false,
      inject: async (redis, standby, path) => {
        path.blackHole();
        await redis.kill();
        await standby.promote();
        path.retarget(standby.port);
        path.heal();
      },
      restore: (redis) => redis.resume(),
    },
  ];

  for (const failover of failovers) {
    it(`${failover.name}: the replay window, rate limits and shared cache come back by themselves`, async () => {
      const redis = cluster.redis!;
      const path = cluster.redisPath!;
      const standby = await OwnedRedis.start();
      try {
        await standby.follow(redis);
        const after = failover.subscribersStayOnOldPrimary ? redis : standby;
        const listensOn = { before: () => listening(redis), after: () => listening(after) };
        await failOverUnderLoad(failover.name, failover.limitedToken, listensOn, () =>
          failover.inject(redis, standby, path),
        );
      } finally {
        await failover.restore(redis);
        path.retarget(redis.port);
        await standby.destroy();
      }
    }, 120_000);
  }
});

/**
 * Redis run by Sentinels (REDIS_SENTINELS): the service asks the Sentinel where the primary is. The primary is
 * killed under load; the Sentinel promotes the replica, and the replicas find it by themselves.
 */
describe('Redis run by a Sentinel, failed over under load (two replicas)', () => {
  let redis: SentinelRedis;
  let workDir: string;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'wf-redis-sentinel-'));
    redis = await SentinelRedis.start();
    cluster = await FaultCluster.start({
      env: {
        CALLERS_FILE: writeCallersFile(workDir),
        // With Sentinels, REDIS_URL gives the database number (and credentials); its host is not used.
        REDIS_URL: 'redis://sentinel-managed/0',
        REDIS_SENTINELS: redis.sentinels,
        REDIS_SENTINEL_NAME: SENTINEL_GROUP,
      },
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await redis?.destroy();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('the primary killed, the Sentinel promotes its replica: signed callers, rate limits and cache follow', async () => {
    expect(await redis.primaryPort()).toBe(redis.primary.port);
    const primaries = { before: () => listening(redis.primary), after: () => listening(redis.replica) };
    await failOverUnderLoad(
      'Redis primary killed, its replica promoted by the Sentinel',
      LIMITED_TOKEN,
      primaries,
      async () => {
        await redis.primary.kill();
        await redis.promoted(redis.replica.port);
      },
    );
    // What the replicas wrote since is on the promoted server.
    expect(String(await redis.replica.command('INFO', 'replication'))).toMatch(/role:master/);
    expect(await redis.replica.command('KEYS', 'webhook-fulfillment:replay:*')).not.toEqual([]);
  }, 120_000);
});

/**
 * A Redis Cluster (REDIS_CLUSTER): three masters, each with a replica. The master holding the cache's keys is killed
 * under load; the cluster promotes its replica, and the replicas follow the new slot map by themselves.
 */
describe('a Redis Cluster, one master killed under load and its replica promoted (two replicas)', () => {
  const redisCluster = onRedisCluster(1);
  const clusterListening = () => everyReplicaListensOn(redisCluster());

  it('the master of the cache keys killed: signed callers, rate limits and cache follow its promoted replica', async () => {
    const redis = redisCluster();
    const masters = redis.ports.slice(0, 3);
    const victim = await masterOfTheCacheKeys(redis);
    await failOverUnderLoad(
      'Redis Cluster: the master of the cache keys killed, its replica promoted',
      FAILOVER_LIMITED_TOKEN,
      { before: clusterListening, after: clusterListening },
      async () => {
        await redis.kill(victim);
        // Failed by the others after cluster-node-timeout, and its slots served by its promoted replica.
        const survivor = masters.find((port) => port !== victim) as number;
        await eventually(async () => {
          expect(await redis.command(survivor, 'CLUSTER', 'NODES')).toMatch(new RegExp(`:${victim}@\\d+ master,fail`));
          expect(await redis.command(survivor, 'CLUSTER', 'INFO')).toMatch(/cluster_state:ok/);
          // Its slots served by another node: the promotion happened (the state is ok without full coverage too).
          expect(await redis.command(survivor, 'CLUSTER', 'SLOTS')).not.toMatch(new RegExp(`^${victim}$`, 'm'));
        }, 20_000);
      },
    );
  }, 120_000);
});

/**
 * A Redis Cluster of three masters and no replicas: the master holding the cache's keys is down for 5 s under load,
 * then started again. The cluster refuses every command meanwhile (its slots are not all served); the service answers
 * from PostgreSQL, waits between its attempts to listen again, and follows the master back.
 */
describe('a Redis Cluster without replicas, the master of the cache keys down under load and started again', () => {
  const redisCluster = onRedisCluster(0);
  const clusterListening = () => everyReplicaListensOn(redisCluster());

  it('turns stay in time, the replicas do not storm the cluster for its slot map, and all of it comes back', async () => {
    const redis = redisCluster();
    const victim = await masterOfTheCacheKeys(redis);
    const survivors = redis.ports.filter((port) => port !== victim);
    let slotMapsAsked = 0;
    let cpuMsBefore = 0;
    let cpuMsDown = 0;
    await failOverUnderLoad(
      'Redis Cluster without replicas: the master of the cache keys down for 5 s, started again',
      FAILOVER_LIMITED_TOKEN,
      { before: clusterListening, after: clusterListening },
      async () => {
        const cpuAtStart = cpuMsOf(cluster.replicas);
        await sleep(5000);
        const [asked, cpu] = [await slotMapRequests(redis, survivors), cpuMsOf(cluster.replicas)];
        cpuMsBefore = cpu - cpuAtStart;
        await redis.kill(victim);
        await sleep(5000);
        slotMapsAsked = (await slotMapRequests(redis, survivors)) - asked;
        cpuMsDown = cpuMsOf(cluster.replicas) - cpu;
        await redis.restart(victim);
        await eventually(async () => {
          for (const port of redis.ports)
            expect(await redis.command(port, 'CLUSTER', 'INFO')).toMatch(/cluster_state:ok/);
        }, 20_000);
      },
    );
    // CPU of both replicas under the same load, 5 s before and 5 s while the master was down.
    console.log(
      JSON.stringify({ fault: 'Redis Cluster master without replica', slotMapsAsked, cpuMsBefore, cpuMsDown }),
    );
    // While the cluster is down, each cluster client of a replica (cache, replay window, rate limits, basic-auth
    // back-off) asks for the slot map at most once per 100 ms (ioredis's retryDelayOnClusterDown): 400 in 5 s for two
    // replicas. ioredis's own sharded subscribers asked again at once after each failed connection to the dead
    // master, some 70 times a second per replica, a whole core each: 862 in one run, 8.7 s of CPU in 5 s.
    expect(slotMapsAsked).toBeLessThan(500);
  }, 120_000);
});

/**
 * A Redis Cluster of the test's own (three masters, `replicas` each) and the fault cluster's replicas on it, for the
 * describe block this is called in.
 */
function onRedisCluster(replicas: 0 | 1): () => RedisClusterForTests {
  let redis: RedisClusterForTests;
  let workDir: string;
  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'wf-redis-cluster-faults-'));
    redis = await startRedisCluster({ replicas, nodeTimeoutMs: 1000 });
    cluster = await FaultCluster.start({
      env: { CALLERS_FILE: writeCallersFile(workDir), REDIS_URL: redis.url, REDIS_CLUSTER: 'true' },
    });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    await redis?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });
  return () => redis;
}

/** Every replica's cache listener listens (sharded Pub/Sub) on the node that holds the cache's slot. */
async function everyReplicaListensOn(redis: RedisClusterForTests): Promise<void> {
  await eventually(async () => {
    let count = 0;
    for (const port of redis.ports) {
      const channels = await redis.command(port, 'PUBSUB', 'SHARDCHANNELS', '{wf:cache:*').catch(() => '');
      for (const channel of channels.split('\n').filter(Boolean)) {
        const [, subscribers] = (await redis.command(port, 'PUBSUB', 'SHARDNUMSUB', channel)).split('\n');
        count += Number(subscribers);
      }
    }
    expect(count).toBe(cluster.replicas.length);
  }, 15_000);
}

/** The master that holds the cache's keys, once a balance has been read (and cached). */
async function masterOfTheCacheKeys(redis: RedisClusterForTests): Promise<number> {
  await balanceOn(0);
  const masters = redis.ports.slice(0, 3);
  const holders = await Promise.all(
    masters.map(async (port) => ((await redis.command(port, 'KEYS', '{wf:cache:*')).trim() ? port : undefined)),
  );
  const victim = holders.find((port) => port !== undefined);
  expect(victim).toBeDefined();
  return victim as number;
}

/** How many times `ports` have been asked for the slot map (CLUSTER SLOTS, as ioredis asks), all told. */
async function slotMapRequests(redis: RedisClusterForTests, ports: readonly number[]): Promise<number> {
  let total = 0;
  for (const port of ports) {
    const stats = await redis.command(port, 'INFO', 'commandstats');
    total += Number(/cmdstat_cluster\|slots:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  }
  return total;
}

/** The CPU time (user and system) the replicas' processes have used, in milliseconds (Linux /proc). */
function cpuMsOf(replicas: readonly Replica[]): number {
  let ticks = 0;
  for (const replica of replicas) {
    const stat = readFileSync(`/proc/${replica.service.child.pid}/stat`, 'utf8');
    // Fields after the command name (in parentheses, which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

/**
 * Both replicas read cached balances, then `inject` fails Redis over under load. Afterwards: nothing lost, all in
 * time, ready throughout; each replica accepts signed callers again (after at most a few 503s, never one accepted
 * unchecked), the replay window and the rate limit (`limitedToken`'s budget, unspent before) are shared again, on
 * the new primary, and cached balances are exact across the replicas.
 */
async function failOverUnderLoad(
  name: string,
  limitedToken: string,
  /** Resolve once every replica's cache subscriber listens, before and after the failover. */
  listensOn: { readonly before: () => Promise<void>; readonly after: () => Promise<void> },
  inject: () => Promise<void>,
): Promise<void> {
  const mismatches: string[] = [];
  await listensOn.before();
  await balanceOn(0);
  await balanceOn(1);
  for (let index = 0; index < 4; index += 1) await cachedBalanceRound(index, 'before', mismatches);
  const run = await runFault(
    cluster,
    { name, holdMs: 0, inject, heal: () => Promise.resolve() },
    { token: LOAD_TOKEN },
  );
  recordFigures(run.figures);
  expect(run.alive).toBe(true);
  expectNothingLostOrDoubled(run);
  expect(run.attempts.filter((attempt) => attempt.ms > PLATFORM_DEADLINE_MS)).toEqual([]);
  expect(run.readiness.filter((sample) => sample.status !== 200)).toEqual([]);

  for (const replica of [0, 1]) {
    const replies: Reply[] = [];
    for (let attempt = 0; attempt < 10 && replies.at(-1)?.status !== 200; attempt += 1) {
      if (attempt > 0) await sleep(1000);
      replies.push(await signed(replica));
    }
    const accepted = replies.filter((reply) => reply.status !== 503).map((reply) => reply.status);
    // On a failure, what the refusals said and what the replica logged about Redis, to tell why.
    const why = {
      accepted,
      lastRefusal: replies.filter((reply) => reply.status === 503).at(-1)?.body,
      redisLog: cluster.replicas[replica].service
        .output()
        .split('\n')
        .filter((line) => /redis|replay|cluster/i.test(line))
        .slice(-15),
    };
    expect(accepted.length === 1 && accepted[0] === 200 ? 'accepted once' : why).toBe('accepted once');
  }
  const webhookId = `msg_${randomUUID()}`;
  const body = lookup();
  expect((await signed(0, webhookId, body)).status).toBe(200);
  expect((await signed(1, webhookId, body)).status).toBe(200);
  expect((await signed(1, webhookId, lookup())).status).toBe(422);
  await expectThrottledAcrossReplicas(limitedToken);
  await listensOn.after();
  for (let index = 0; index < 6; index += 1) await cachedBalanceRound(index, 'after', mismatches);
  expect(mismatches).toEqual([]);
}
