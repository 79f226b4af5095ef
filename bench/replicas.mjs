// Issue 16's bench figures that need more than one server: a read turn routed to a real streaming replica, and how
// long a write's invalidation takes to reach another service replica's cache (through Redis).
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createBenchCustomer } from './database.mjs';
import { root } from './harness.mjs';

/** Debian's PostgreSQL server and pg_basebackup (the embedded binaries have no pg_basebackup). */
function debianPostgresBin() {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  return versions
    .map((version) => join(base, version, 'bin'))
    .find((bin) => ['postgres', 'initdb', 'pg_basebackup'].every((tool) => existsSync(join(bin, tool))));
}

/**
 * A primary (migrated and seeded) and a streaming replica of it, or undefined when Debian's PostgreSQL is not
 * installed (the row is then skipped with a message).
 */
export async function startReplicatedDatabase(freePort) {
  const bin = debianPostgresBin();
  if (!bin) return undefined;
  const { PostgresCluster } = await import('../dist/database/embedded/postgres-cluster.js');
  const { postgresOsUser } = await import('../dist/database/embedded/os-user.js');
  const user = postgresOsUser();
  const ids = user.uid === undefined ? {} : { uid: user.uid, gid: user.gid };
  const parent = await mkdtemp(join(tmpdir(), 'wf-bench-replica-'));
  await chmod(parent, 0o755);
  const primary = new PostgresCluster({ bin, dataDir: join(parent, 'primary'), port: await freePort(), user });
  await primary.initialise({ method: 'trust' });
  await primary.start();
  const primaryUrl = `postgres://postgres@127.0.0.1:${primary.port}/postgres`;
  const seeded = spawnSync(process.execPath, ['dist/cli/database.cli.js', 'seed'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: primaryUrl },
    encoding: 'utf8',
  });
  if (seeded.status !== 0) throw new Error(`could not seed the primary: ${seeded.stderr || seeded.stdout}`);
  const replicaDir = join(parent, 'replica');
  await mkdir(replicaDir, { mode: 0o700 });
  if (ids.uid !== undefined) await chown(replicaDir, ids.uid, ids.gid);
  await new Promise((resolve, reject) => {
    const args = [
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      'postgres',
      '-D',
      replicaDir,
      '-R',
      '-X',
      'stream',
    ];
    const child = spawn(join(bin, 'pg_basebackup'), args, { ...ids, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pg_basebackup exited ${code}`))));
  });
  const replica = new PostgresCluster({ bin, dataDir: replicaDir, port: await freePort(), user });
  await replica.start();
  return {
    primaryUrl,
    replicaUrl: `postgres://postgres@127.0.0.1:${replica.port}/postgres`,
    stop: async () => {
      await replica.stop().catch(() => undefined);
      await primary.stop().catch(() => undefined);
      await rm(parent, { recursive: true, force: true });
    },
  };
}

/** The replica's share of the service's lag-tolerant reads, from its /metrics. */
export async function replicaReadShare(metricsUrl) {
  const lines = (await (await fetch(metricsUrl)).text())
    .split('\n')
    .filter((l) => l.startsWith('db_replica_reads_total{'));
  const count = (test) => lines.filter(test).reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
  const all = count(() => true);
  return all === 0 ? 0 : +(count((line) => !line.includes('target="primary"')) / all).toFixed(3);
}

function percentile(sorted, p) {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Two service replicas (A, B) on one database and one Redis, cache on. `rounds` times: a transfer on A, then the
 * balance on B right after A answered, compared with the database; then B is asked again until it shows the new
 * balance. Reports stale first reads (must be 0) and, from B's own histogram, how long after A's commit the
 * invalidation reached B (p50/p99 as the upper bounds of their buckets).
 */
const INVALIDATION_CUSTOMER = 'BENCH-INVALIDATION';

export async function measureInvalidation({ urlA, urlB, metricsB, databaseUrl, token, rounds = 200 }) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  // A customer of its own: the README customer's balance is what every other row checks, and the embedded bench
  // database is kept between runs.
  await createBenchCustomer(client, INVALIDATION_CUSTOMER, 'Bench Invalidation');
  const post = async (url, body) => {
    const response = await fetch(`${url}/v1/webhooks/generic`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ requestId: randomUUID(), sessionId: randomUUID(), ...body }),
    });
    if (response.status !== 200) throw new Error(`${url}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  const balance = async (url) =>
    (
      await post(url, {
        intent: 'GetAccountBalance',
        parameters: { user_id: INVALIDATION_CUSTOMER, account_type: 'checking' },
      })
    ).contexts?.[0]?.parameters.balance;
  const inDatabase = async () =>
    Number(
      (
        await client.query(
          `SELECT a.balance_minor FROM accounts a JOIN customers c ON c.id = a.customer_id
            WHERE c.customer_number = $1 AND a.account_type = 'checking'`,
          [INVALIDATION_CUSTOMER],
        )
      ).rows[0].balance_minor,
    ) / 100;
  try {
    await balance(urlB);
    let stale = 0;
    const untilFreshMs = [];
    for (let round = 0; round < rounds; round += 1) {
      await post(urlA, {
        intent: 'TransferFunds',
        stage: 'fulfillment',
        confirmation: 'confirmed',
        parameters: { user_id: INVALIDATION_CUSTOMER, from_account: 'checking', to_account: 'savings', amount: 0.01 },
      });
      const answered = performance.now();
      const expected = await inDatabase();
      let seen = await balance(urlB);
      if (seen !== expected) stale += 1;
      while (seen !== expected && performance.now() - answered < 5000) seen = await balance(urlB);
      untilFreshMs.push(performance.now() - answered);
    }
    const histogram = (await (await fetch(metricsB)).text())
      .split('\n')
      .filter((line) => line.startsWith('cache_invalidation_propagation_seconds_bucket{'))
      .map((line) => ({ le: line.match(/le="([^"]+)"/)[1], count: Number(line.split(' ').pop()) }));
    const total = histogram.find((bucket) => bucket.le === '+Inf')?.count ?? 0;
    const bound = (p) => histogram.find((bucket) => bucket.count >= (p / 100) * total)?.le ?? null;
    untilFreshMs.sort((a, b) => a - b);
    return {
      name: 'cache invalidation across two service replicas (Redis pub/sub)',
      rounds,
      staleFirstReads: stale,
      propagationP50UpToSeconds: bound(50),
      propagationP99UpToSeconds: bound(99),
      propagationMeasured: total,
      readAfterAnswerP99Ms: +percentile(untilFreshMs, 99).toFixed(2),
    };
  } finally {
    await client.end();
  }
}
