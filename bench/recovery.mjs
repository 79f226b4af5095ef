// npm run bench:recovery — how long the service takes to answer normally again after PostgreSQL returns.
// Owns an embedded PostgreSQL, runs the built service on it, then several times: stops PostgreSQL, checks that
// turns get the degraded reply, starts PostgreSQL again and times (from the moment it accepts connections) the
// first normal reply (polling turns only) and then /health/ready (DEGRADED_MODE=503, the mode in which readiness
// goes down). DB_PROBE_INTERVAL_MS is the setting that
// matters: until the probe sees the database again, turns keep getting the fast degraded reply.
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../scripts/free-port.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.RECOVERY_ROUNDS ?? 5);
const OUTAGE_MS = Number(process.env.RECOVERY_OUTAGE_MS ?? 2000);
const PROBE_INTERVALS = (process.env.RECOVERY_PROBE_INTERVALS ?? '1000,200').split(',').map(Number);
const BODY = JSON.stringify({
  requestId: 'recovery',
  sessionId: 'recovery',
  intent: 'GetAccountBalance',
  parameters: { user_id: '12345', account_type: 'checking' },
});

const { startEmbeddedPostgres } = await import(
  join(root, 'dist', 'database', 'embedded', 'embedded-postgres.server.js')
);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function turn(base) {
  try {
    const response = await fetch(`${base}/v1/webhooks/generic`, {
      method: 'POST',
      headers: { authorization: 'Bearer local-dev-token', 'content-type': 'application/json' },
      body: BODY,
      signal: AbortSignal.timeout(5000),
    });
    const json = await response.json();
    return response.status === 200 && json.outcome === 'fulfilled' ? 'normal' : 'degraded';
  } catch {
    return 'error';
  }
}

async function ready(base) {
  try {
    return (await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(5000) })).status === 200;
  } catch {
    return false;
  }
}

function startService(env) {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ADMIN_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk;
      if (/Listening on/.test(output)) resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`service exited (${code}):\n${output}`)));
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function measure(probeIntervalMs) {
  const dataDir = join(root, '.data', 'recovery-postgres', 'data');
  await rm(dirname(dataDir), { recursive: true, force: true });
  await mkdir(dirname(dataDir), { recursive: true });
  const port = await freePort();
  let database = await startEmbeddedPostgres({ dataDir, port, database: 'recovery' });
  const servicePort = await freePort();
  const service = await startService({
    DATABASE_URL: database.url,
    SEED_DEMO_DATA: 'true',
    PORT: String(servicePort),
    LOG_LEVEL: 'info',
    THROTTLE_LIMIT: '1000000',
    PREAUTH_LIMIT: '10000000',
    DB_PROBE_INTERVAL_MS: String(probeIntervalMs),
    // Readiness leaves rotation without PostgreSQL only in this mode (with `reply` it stays ready throughout);
    // the degraded answer is then the 503, which takes the same path as the polite reply.
    DEGRADED_MODE: '503',
  });
  const base = `http://127.0.0.1:${servicePort}`;
  const rounds = [];
  try {
    if ((await turn(base)) !== 'normal') throw new Error('the service does not answer normally before the outage');
    for (let round = 0; round < ROUNDS; round += 1) {
      await database.stop();
      const degradedStarted = performance.now();
      const outcome = await turn(base);
      const degradedMs = performance.now() - degradedStarted;
      if (outcome !== 'degraded') throw new Error(`expected a degraded reply during the outage, got ${outcome}`);
      await sleep(OUTAGE_MS);
      database = await startEmbeddedPostgres({ dataDir, port, database: 'recovery' });
      const back = performance.now();
      let firstNormalMs;
      let firstReadyMs;
      // Turns only first: /health/ready checks the database itself and would hide the probe's own delay.
      while (firstNormalMs === undefined) {
        if (performance.now() - back > 30_000) throw new Error('no recovery within 30 s');
        if ((await turn(base)) === 'normal') firstNormalMs = performance.now() - back;
        else await sleep(10);
      }
      while (firstReadyMs === undefined) {
        if (await ready(base)) firstReadyMs = performance.now() - back;
        else await sleep(10);
      }
      rounds.push({ degradedMs, firstNormalMs, firstReadyMs });
    }
  } finally {
    service.kill('SIGTERM');
    await new Promise((resolve) => service.once('exit', resolve));
    await database.stop();
  }
  return {
    probeIntervalMs,
    rounds: rounds.length,
    degradedReplyMs: Math.round(median(rounds.map((r) => r.degradedMs))),
    firstNormalTurnMs: Math.round(median(rounds.map((r) => r.firstNormalMs))),
    firstNormalTurnMaxMs: Math.round(Math.max(...rounds.map((r) => r.firstNormalMs))),
    readyAgainMs: Math.round(median(rounds.map((r) => r.firstReadyMs))),
  };
}

const results = [];
for (const interval of PROBE_INTERVALS) results.push(await measure(interval));
console.log('\nrecovery after PostgreSQL returns (median of rounds; times from PostgreSQL accepting connections)');
console.log('DB_PROBE_INTERVAL_MS | degraded reply ms | first normal turn ms (max) | /health/ready 200 ms');
for (const r of results) {
  console.log(
    `${String(r.probeIntervalMs).padStart(20)} | ${String(r.degradedReplyMs).padStart(17)} | ` +
      `${`${r.firstNormalTurnMs} (${r.firstNormalTurnMaxMs})`.padStart(26)} | ${String(r.readyAgainMs).padStart(20)}`,
  );
}
await mkdir(join(root, 'bench', 'results'), { recursive: true });
await writeFile(join(root, 'bench', 'results', 'recovery.json'), `${JSON.stringify(results, null, 2)}\n`);
