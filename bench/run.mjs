// npm run bench: the full Dialogflow ES path (with static-token, HMAC and JWT callers) against bare node:http
// baselines, in one run.
// Servers are pinned to core 0 and the load generator (autocannon, its own process) to core 1 where taskset exists.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { measureOverload, OVERLOAD_RUN } from './overload.mjs';
import {
  BEARER_TOKEN,
  checkAnswer,
  CONNECTIONS,
  cpuMicros,
  exportEverySpan,
  load,
  pinned,
  pinning,
  root,
  startOtlpSink,
  startServer,
} from './harness.mjs';
import { createTransferCustomers, startBenchDatabase } from './database.mjs';
import { PLATFORM_RUNS, platformBody, transferBody } from './request.mjs';
import { measureInvalidation, replicaReadShare, startReplicatedDatabase } from './replicas.mjs';
import { startTestRedis } from '../test/support/redis-server.mjs';
import { chartHeapOptions } from '../scripts/chart-heap.mjs';
import { freePort } from '../scripts/free-port.mjs';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
/** Issue 14's ratios again from interleaved rounds (measurePairs); BENCH_PAIRED_ROUNDS=0 leaves them out. */
const PAIRED_ROUNDS = Number(process.env.BENCH_PAIRED_ROUNDS ?? 4);
const PAIRED_SECONDS = Number(process.env.BENCH_PAIRED_SECONDS ?? 3);
const WARMUP_S = Number(process.env.BENCH_WARMUP ?? 3);
const TARGET_RATIO = 0.4;
/** BENCH_ONLY=<regex>: only the rows whose name matches (e.g. to compare two builds on a few rows). */
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY, 'i') : undefined;
const HMAC_SECRET = randomBytes(32).toString('base64');
/** Turn ids are new in every run: the embedded database (and its idempotency records) outlives a run. */
const RUN_ID = Date.now().toString(36);

/**
 * A fresh process compiles its hot paths during its first seconds of load (V8's tiers) and finishes start-up
 * work (pg-boss, the first pool connections): its first row warms up this many times longer, so that cost is
 * not charged to whichever row happens to come first.
 */
const FIRST_RUN_WARMUP_FACTOR = 3;

async function measure(
  name,
  url,
  pid,
  auth,
  body,
  sink,
  first = false,
  { seconds = DURATION_S, warmup = WARMUP_S } = {},
) {
  if (warmup > 0) await load(url, warmup * (first ? FIRST_RUN_WARMUP_FACTOR : 1), auth, body);
  sink?.reset();
  const cpuBefore = cpuMicros(pid);
  const result = await load(url, seconds, auth, body);
  const cpuPerRequest = (cpuMicros(pid) - cpuBefore) / result.requests.total;
  // The last batch leaves the service after OTEL_BSP_SCHEDULE_DELAY.
  if (sink) await new Promise((resolve) => setTimeout(resolve, 1_000));
  return {
    name,
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    cpuMicrosPerRequest: Number.isFinite(cpuPerRequest) ? Math.round(cpuPerRequest) : null,
    errors: result.errors + result.timeouts + result.non2xx,
    ...(sink && {
      spansExportedPerRequest: +(sink.spans() / result.requests.total).toFixed(2),
      otlpBytesPerRequest: Math.round(sink.bytes() / result.requests.total),
    }),
  };
}

/**
 * The V8 options the Helm chart starts the service with by default (its NODE_OPTIONS, from `heap.maxOldSpaceMiB`
 * and `heap.maxSemiSpaceMiB` in values.yaml).
 */
function chartNodeArgs() {
  const values = yaml.load(readFileSync(join(root, 'helm', 'webhook-fulfillment', 'values.yaml'), 'utf8'));
  if (!Number.isInteger(values.heap?.maxOldSpaceMiB)) {
    throw new Error('heap.maxOldSpaceMiB not found in the chart values.yaml');
  }
  return chartHeapOptions(values.heap);
}

/** Resident memory of a process in MB (Linux /proc). */
function residentMb(pid) {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Math.round(Number(kb) / 1024);
  } catch {
    return null;
  }
}

/** One line per goal: its value and verdict, and for a ratio from interleaved rounds each round's and the rows'. */
function printGoals(goals) {
  for (const [name, goal] of Object.entries(goals)) {
    const verdict = goal.met === null ? 'n/a' : goal.met ? 'met' : 'NOT met';
    const detail = goal.rounds
      ? `; rounds ${JSON.stringify(goal.rounds)}, rows: ${JSON.stringify(goal.sequential)}`
      : '';
    console.log(`  ${name}: ${JSON.stringify(goal.value)} (goal ${goal.goal}): ${verdict}${detail}`);
  }
}

const STARTUP_RUN = 'start-up: node dist/main.js to "Listening", embedded PostgreSQL with an existing data folder';
const STARTUP_STARTS = 3;

/**
 * The zero-configuration start (no DATABASE_URL: the embedded PostgreSQL) with a data folder that exists: the
 * first start creates it and is not counted; the median of the next ones is the figure.
 */
async function measureStartup() {
  const dataDir = join(root, '.data', 'bench-startup');
  const times = [];
  for (let start = 0; start <= STARTUP_STARTS; start += 1) {
    const env = {
      // Unset (spawn leaves out undefined variables): the embedded PostgreSQL.
      DATABASE_URL: undefined,
      REDIS_URL: undefined,
      EMBEDDED_PG_DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(await freePort()),
      PORT: String(await freePort()),
      GRPC_PORT: String(await freePort()),
      METRICS_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
    };
    const began = performance.now();
    const server = await startServer('start-up', 'dist/main.js', env);
    const elapsed = performance.now() - began;
    await server.stop();
    if (start > 0) times.push(elapsed);
  }
  times.sort((a, b) => a - b);
  return {
    name: STARTUP_RUN,
    node: process.version,
    medianMs: Math.round(times[Math.floor(times.length / 2)]),
    timesMs: times.map(Math.round),
  };
}

/** A JWKS issuer on 127.0.0.1 and a token it signed, for the JWT-authenticated runs. */
async function startIssuer() {
  const jose = await import('jose');
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'bench-1', alg: 'ES256', use: 'sig' };
  const server = createHttpServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const token = await new jose.SignJWT({ sub: 'bench-bot' })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench-1' })
    .setIssuer(issuer)
    .setAudience('bench')
    .setExpirationTime('2h')
    .sign(privateKey);
  return { issuer, jwksUri: `${issuer}/jwks`, token, close: () => new Promise((done) => server.close(done)) };
}

const TRACED_RUN = 'service, static bearer token, tracing on (OTLP http/protobuf to a local sink)';
const SAMPLED_RUN = 'service, static bearer token, tracing on, parent-based 10 % sampler';
const TRANSFER_RUN = 'service, TransferFunds, new turn each request';
const TURN_LOG_OFF_RUN = 'service, static bearer token, turn log off (TURN_LOG_ENABLED=false)';
const CACHED_RUN = 'service, static bearer token, read-through cache on (balance from the in-process tier)';
const REPLICA_RUN = 'service, static bearer token, balance read routed to a streaming replica (cache off)';
const INVALIDATION_RUN = 'cache invalidation across two service replicas (Redis pub/sub)';
const CHART_HEAP_RUN = "service, static bearer token, the Helm chart's heap limits (its NODE_OPTIONS)";
/** Nest itself: what a turn of the framework the issue keeps costs beyond the express reference (bench/baselines). */
const NEST_REFERENCE_RUN = 'reference: bare NestJS 11 (platform-express) + pg pool SELECT, one controller';
const GRPC_BASELINE_RUN = 'baseline: bare grpc-js + pg pool SELECT (Fulfill, plaintext HTTP/2)';
const TRANSFER_BASELINE_RUN =
  'baseline: node:http + pg, TransferFunds in one transaction (claim, lock both, move, insert, store reply)';

/** The first service run again with tracing on and every span exported to a sink on 127.0.0.1. */
function tracedTarget(service, sink, bearer) {
  return {
    ...service,
    env: { ...service.env, ...exportEverySpan(sink.url) },
    sink,
    runs: [{ name: TRACED_RUN, auth: bearer }],
  };
}

/** The traced run again with the parent-based sampler keeping one trace in ten (the spans of the rest are not recorded). */
function sampledTarget(service, sink, bearer) {
  const traced = tracedTarget(service, sink, bearer);
  return {
    ...traced,
    env: { ...traced.env, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' },
    runs: [{ name: SAMPLED_RUN, auth: bearer }],
  };
}

async function writeCallers(issuer) {
  const dir = await mkdtemp(join(tmpdir(), 'wf-bench-'));
  const file = join(dir, 'callers.yaml');
  await writeFile(
    file,
    [
      'callers:',
      '  - id: bench-bearer',
      '    platforms: [dialogflow-es, dialogflow-cx, lex-v2, rasa, generic]',
      `    auth: { bearer: { tokens: [${BEARER_TOKEN}] } }`,
      '  - id: bench-hmac',
      '    platforms: [dialogflow-es]',
      `    auth: { standardWebhooks: { secrets: [whsec_${HMAC_SECRET}] } }`,
      '  - id: bench-jwt',
      '    platforms: [dialogflow-es]',
      `    auth: { jwt: { issuer: "${issuer.issuer}", audience: bench, jwksUri: "${issuer.jwksUri}" } }`,
      '',
    ].join('\n'),
  );
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Two service replicas sharing Redis (REDIS_URL, or a redis-server started for this): see measureInvalidation. */
async function invalidationAcrossReplicas(serviceEnv, databaseUrl) {
  const redis = await startTestRedis();
  if (!redis.url) {
    console.error(`${INVALIDATION_RUN}: skipped, ${redis.unavailable}`);
    return undefined;
  }
  const servers = [];
  try {
    const replicas = [];
    for (const name of ['A', 'B']) {
      const [port, metricsPort] = [await freePort(), await freePort()];
      const env = {
        ...serviceEnv,
        DATABASE_URL: databaseUrl,
        REDIS_URL: redis.url,
        CACHE_ENABLED: 'true',
        GRPC_ENABLED: 'false',
        METRICS_ENABLED: 'true',
        METRICS_PORT: String(metricsPort),
        PORT: String(port),
      };
      servers.push(await startServer(`replica ${name}`, 'dist/main.js', env));
      replicas.push({ url: `http://127.0.0.1:${port}`, metrics: `http://127.0.0.1:${metricsPort}/metrics` });
    }
    return await measureInvalidation({
      urlA: replicas[0].url,
      urlB: replicas[1].url,
      metricsB: replicas[1].metrics,
      databaseUrl,
      token: BEARER_TOKEN,
    });
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await redis.stop();
  }
}

/**
 * Starts a target's server and checks its answer; `measure(run)` measures one of its runs (gRPC or HTTP), or
 * resolves undefined when a gRPC run finds nothing on the gRPC port (a build whose main.ts does not start it).
 */
async function startTarget(target, { freshMetricsPort = false } = {}) {
  const port = await freePort();
  const grpcPort = await freePort();
  const server = await startServer(
    target.script,
    target.script,
    {
      ...target.env,
      PORT: String(port),
      GRPC_PORT: String(grpcPort),
      // measurePairs runs two services at once: each needs its own.
      ...(freshMetricsPort && target.env.METRICS_PORT && { METRICS_PORT: String(await freePort()) }),
    },
    target.nodeArgs,
  );
  const base = `http://127.0.0.1:${port}`;
  const url = `${base}/v1/webhooks/dialogflow-es`;
  try {
    if (target.expected && !target.grpcOnly) await checkAnswer(url, target.expected);
  } catch (error) {
    await server.stop();
    throw error;
  }
  const measureRun = async (run, { first = false, ...durations } = {}) => {
    if (run.grpc) {
      const grpcTarget = { grpc: `127.0.0.1:${grpcPort}`, expected: target.expected };
      // Exit code 2: nothing answers on the gRPC port.
      return measure(run.name, grpcTarget, server.pid, run.auth, undefined, undefined, first, durations).catch(
        (error) => {
          if (error.exitCode !== 2) throw error;
          console.error(`${run.name}: skipped, the service does not serve gRPC`);
        },
      );
    }
    const runUrl = run.path ? `${base}${run.path}` : url;
    if (run.body) await checkAnswer(runUrl, run.expected ?? target.expected, run.check ?? run.body);
    return measure(run.name, runUrl, server.pid, run.auth, run.body, target.sink, first, durations);
  };
  return { pid: server.pid, stop: () => server.stop(), measure: measureRun };
}

/**
 * The ratios of issue 14's targets again, each from PAIRED_ROUNDS rounds that measure its two rows one right
 * after the other, in turn first and second (PAIRED_SECONDS each, after a short warm-up), with both servers
 * running: this VM's speed drifts by up to 40 % over a run, which moves rows measured minutes apart; two rows
 * measured seconds apart see the same machine. Each ratio is the median of its rounds' ratios.
 */
async function measurePairs(targets) {
  const byName = new Map(targets.flatMap((target) => target.runs.map((run) => [run.name, { target, run }])));
  const named = (prefix) => [...byName.keys()].find((name) => name.startsWith(prefix));
  const service = targets[0].runs[0]?.name;
  const pairs = [
    ['serviceVsExpressSelect', service, named('reference: bare express 5')],
    // Where the first target's gap is: the framework alone against express, and the service against the framework.
    ['nestVsExpressSelect', NEST_REFERENCE_RUN, named('reference: bare express 5')],
    ['serviceVsNestSelect', service, NEST_REFERENCE_RUN],
    ['tracingOnVsOff', TRACED_RUN, service],
    ['sampled10PercentVsOff', SAMPLED_RUN, service],
    ['grpcVsHttpGeneric', named('service, gRPC Fulfill'), named('service, generic JSON')],
    ...PLATFORM_RUNS.map((run) => [`platformVsEs: ${run.name}`, run.name, service]),
    ['transferVsBaseline', named(TRANSFER_RUN), TRANSFER_BASELINE_RUN],
    // Issue 17's figure: the two rows differ by a few µs, less than the drift between the run's first and later rows.
    ['turnLogOnVsOff', service, TURN_LOG_OFF_RUN],
  ].filter(([, a, b]) => byName.has(a) && byName.has(b));
  const running = new Map();
  const started = async (target, run) => {
    if (!running.has(target)) {
      const server = await startTarget(target, { freshMetricsPort: true });
      running.set(target, server);
      // A fresh process: warmed up as the rows' first run is, before any round counts.
      await server.measure(run, { first: true, seconds: 1 });
    }
    return running.get(target);
  };
  const median = (values) => {
    const sorted = [...values].sort((x, y) => x - y);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  };
  const ratios = {};
  try {
    for (const [key, a, b] of pairs) {
      const [first, second] = [byName.get(a), byName.get(b)];
      const [serverA, serverB] = [await started(first.target, first.run), await started(second.target, second.run)];
      const rounds = [];
      for (let round = 0; round < PAIRED_ROUNDS; round += 1) {
        const durations = { seconds: PAIRED_SECONDS, warmup: 1 };
        // A, B, then B, A: a drift within the pair's rounds favours neither row.
        const measureA = () => serverA.measure(first.run, durations);
        const measureB = () => serverB.measure(second.run, durations);
        const [rowA, rowB] =
          round % 2 === 0 ? [await measureA(), await measureB()] : [await measureB(), await measureA()].reverse();
        if (!rowA || !rowB) break;
        rounds.push({ ratio: rowA.requestsPerSecond / rowB.requestsPerSecond, p99: rowA.p99Ms / rowB.p99Ms });
      }
      if (rounds.length === 0) continue;
      ratios[key] = {
        median: +median(rounds.map((r) => r.ratio)).toFixed(3),
        rounds: rounds.map((r) => +r.ratio.toFixed(3)),
      };
      if (key === 'serviceVsExpressSelect') {
        ratios.p99VsExpressP99 = {
          median: +median(rounds.map((r) => r.p99)).toFixed(2),
          rounds: rounds.map((r) => +r.p99.toFixed(2)),
        };
      }
      // A server no later pair needs is stopped, so that idle servers do not share the core with the next pair.
      const later = pairs.slice(pairs.findIndex(([name]) => name === key) + 1);
      for (const [target, server] of running) {
        if (later.some(([, x, y]) => byName.get(x).target === target || byName.get(y).target === target)) continue;
        await server.stop();
        running.delete(target);
      }
    }
  } finally {
    await Promise.all([...running.values()].map((server) => server.stop()));
  }
  return ratios;
}

async function main() {
  const db = await startBenchDatabase(RUN_ID);
  const issuer = await startIssuer();
  const callers = await writeCallers(issuer);
  const sink = await startOtlpSink();
  const bearer = { kind: 'bearer', token: BEARER_TOKEN };
  const results = [];
  let overload;
  let serviceRssMb;
  let paired = {};
  let chartHeapRssMb;
  let startup;
  let replicated;
  let replicaShare;
  let invalidation;
  try {
    const targets = [
      {
        script: 'dist/main.js',
        // A budget no benchmark reaches: this measures the request path, not the throttle.
        env: {
          DATABASE_URL: db.url,
          SEED_DEMO_DATA: 'true',
          LOG_LEVEL: 'info',
          CALLERS_FILE: callers.file,
          THROTTLE_LIMIT: '1000000',
          PREAUTH_LIMIT: '10000000',
          GRPC_ENABLED: 'true',
          // Tracing off here; the run below with tracing on is compared with this one.
          OTEL_SDK_DISABLED: 'true',
          // Every turn reads PostgreSQL, like the references: the cached row below is measured on its own.
          CACHE_ENABLED: 'false',
          METRICS_PORT: String(await freePort()),
        },
        expected: '$3,247.82',
        runs: [
          { name: 'service, static bearer token (auth, validation, SELECT, render)', auth: bearer },
          {
            name: 'service, Standard Webhooks HMAC (+ replay check in PostgreSQL)',
            auth: { kind: 'standard-webhooks', secret: HMAC_SECRET },
          },
          { name: 'service, OAuth2 JWT (ES256, JWKS cached)', auth: { kind: 'bearer', token: issuer.token } },
          ...PLATFORM_RUNS.map((run) => ({ name: run.name, path: run.path, body: platformBody(run), auth: bearer })),
          {
            name: 'service, TransferFunds, new turn each request, 32 customers (claim + locked transfer + stored reply)',
            path: '/v1/webhooks/generic',
            body: transferBody('__TURN_ID__'),
            check: transferBody(`bench-check-${RUN_ID}`, 'BENCH-TX-0'),
            expected: 'Done',
            auth: bearer,
          },
          {
            name: 'service, duplicate storm: one TransferFunds turn delivered again and again (stored reply)',
            path: '/v1/webhooks/generic',
            body: transferBody(`bench-storm-${RUN_ID}`, 'BENCH-TX-1'),
            expected: 'Done',
            auth: bearer,
          },
          // The generic GetAccountBalance turn as a typed gRPC call (h2c, same connections): compare with the
          // generic JSON row.
          { name: 'service, gRPC Fulfill (static bearer token, plaintext HTTP/2)', grpc: true, auth: bearer },
        ],
      },
      {
        script: 'bench/baselines/fixed-json.mjs',
        env: {},
        expected: 'balance is',
        runs: [{ name: 'baseline: node:http fixed JSON', auth: bearer }],
      },
      {
        script: 'bench/baselines/pg-select.mjs',
        env: { DATABASE_URL: db.url },
        expected: 'balance 324782',
        runs: [{ name: 'baseline: node:http + pg pool SELECT', auth: bearer }],
      },
      {
        // The same SELECT behind a bare grpc-js server (it listens on GRPC_PORT only): what grpc-js itself costs.
        script: 'bench/baselines/grpc-select.mjs',
        env: { DATABASE_URL: db.url },
        expected: 'balance 324782',
        grpcOnly: true,
        runs: [{ name: GRPC_BASELINE_RUN, grpc: true, auth: bearer }],
      },
      {
        script: 'bench/baselines/express-select.mjs',
        env: { DATABASE_URL: db.url },
        expected: 'balance 324782',
        runs: [{ name: 'reference: bare express 5 + pg pool SELECT', auth: bearer }],
      },
      {
        script: 'bench/baselines/nest-select.mjs',
        env: { DATABASE_URL: db.url },
        expected: 'balance 324782',
        runs: [{ name: NEST_REFERENCE_RUN, auth: bearer }],
      },
    ];
    targets.splice(
      1,
      0,
      tracedTarget(targets[0], sink, bearer),
      sampledTarget(targets[0], sink, bearer),
      {
        ...targets[0],
        env: { ...targets[0].env, CACHE_ENABLED: 'true', METRICS_PORT: String(await freePort()) },
        runs: [{ name: CACHED_RUN, auth: bearer }],
      },
      // The same service as the Helm chart starts it (NODE_OPTIONS from heap.* in values.yaml, the heap's limits):
      // the first service's RSS is what V8 lets the heap grow to under this machine's default limit (4 GB).
      {
        ...targets[0],
        nodeArgs: chartNodeArgs(),
        env: { ...targets[0].env, METRICS_PORT: String(await freePort()) },
        runs: [{ name: CHART_HEAP_RUN, auth: bearer }],
      },
      // The first run keeps the operator console's turn log (on by default); this one shows what that costs.
      {
        ...targets[0],
        env: { ...targets[0].env, TURN_LOG_ENABLED: 'false', METRICS_PORT: String(await freePort()) },
        runs: [{ name: TURN_LOG_OFF_RUN, auth: bearer }],
      },
    );
    if (!ONLY || ONLY.test(REPLICA_RUN)) {
      replicated = await startReplicatedDatabase(freePort);
      if (!replicated) console.error(`${REPLICA_RUN}: skipped, Debian's PostgreSQL (pg_basebackup) is not installed`);
    }
    if (replicated) {
      const metricsPort = await freePort();
      targets.push({
        ...targets[0],
        env: {
          ...targets[0].env,
          DATABASE_URL: replicated.primaryUrl,
          DATABASE_REPLICA_URLS: replicated.replicaUrl,
          METRICS_PORT: String(metricsPort),
        },
        runs: [{ name: REPLICA_RUN, auth: bearer }],
        afterRuns: async () => {
          replicaShare = await replicaReadShare(`http://127.0.0.1:${metricsPort}/metrics`);
        },
      });
    }
    targets.push({
      script: 'bench/baselines/transfer-pg.mjs',
      env: { DATABASE_URL: db.url },
      runs: [
        {
          name: TRANSFER_BASELINE_RUN,
          path: '/v1/webhooks/generic',
          body: transferBody('__TURN_ID__'),
          check: transferBody(`bench-check-baseline-${RUN_ID}`, 'BENCH-TX-0'),
          expected: 'Done',
          auth: bearer,
        },
      ],
    });
    if (ONLY) for (const target of targets) target.runs = target.runs.filter((run) => ONLY.test(run.name));
    for (const target of targets.filter((candidate) => candidate.runs.length > 0)) {
      const started = await startTarget(target);
      try {
        if (target.script === 'dist/main.js') await createTransferCustomers(db.url);
        for (const run of target.runs) {
          const measured = await started.measure(run, { first: run === target.runs[0] });
          if (measured) results.push(measured);
        }
        if (target === targets[0]) serviceRssMb = residentMb(started.pid);
        if (target.runs[0]?.name === CHART_HEAP_RUN) chartHeapRssMb = residentMb(started.pid);
        await target.afterRuns?.();
      } finally {
        await started.stop();
      }
    }
    // Before the invalidation rounds, which change the README customer's balance.
    if (PAIRED_ROUNDS > 0) paired = await measurePairs(targets);
    // Last of the rows on this database: its transfers change the README customer's balance.
    if (!ONLY || ONLY.test(INVALIDATION_RUN)) invalidation = await invalidationAcrossReplicas(targets[0].env, db.url);
    if (!ONLY || ONLY.test(STARTUP_RUN)) startup = await measureStartup();
    if (!ONLY || ONLY.test(OVERLOAD_RUN)) {
      overload = await measureOverload({
        root,
        env: targets[0].env,
        token: BEARER_TOKEN,
        startServer,
        load,
        pinned,
        freePort,
      });
    }
  } finally {
    await replicated?.stop();
    await db.stop();
    await issuer.close();
    await callers.remove();
    await sink.close();
  }

  if (results.length === 0 && overload) {
    console.log(JSON.stringify(overload, null, 2));
    return;
  }
  // Under BENCH_ONLY some rows are missing: their ratios are null.
  const byName = (prefix) => results.find((r) => r.name.startsWith(prefix));
  const service = results[0];
  const hmac = byName('service, Standard Webhooks HMAC');
  const jwt = byName('service, OAuth2 JWT');
  const fixed = byName('baseline: node:http fixed JSON');
  const select = byName('baseline: node:http + pg pool SELECT');
  const expressSelect = byName('reference: bare express 5');
  const grpcBaseline = results.find((r) => r.name === GRPC_BASELINE_RUN);
  const nestReference = results.find((r) => r.name === NEST_REFERENCE_RUN);
  const ratio = (a, b) => (a && b ? +(a.requestsPerSecond / b.requestsPerSecond).toFixed(3) : null);
  const ratios = {
    hmacVsBearer: ratio(hmac, service),
    jwtVsBearer: ratio(jwt, service),
    vsFixedJson: ratio(service, fixed),
    vsPgSelect: ratio(service, select),
    vsExpressSelect: ratio(service, expressSelect),
    // What the transport itself allows the gRPC row (issue 14's target 3): grpc-js against express, same SELECT.
    grpcJsVsExpress: ratio(grpcBaseline, expressSelect),
    nestVsExpressSelect: ratio(nestReference, expressSelect),
    serviceVsNestSelect: ratio(service, nestReference),
  };
  const traced = results.find((r) => r.name === TRACED_RUN);
  const tracing = traced && {
    requestsPerSecondOnVsOff: +(traced.requestsPerSecond / service.requestsPerSecond).toFixed(3),
    cpuMicrosPerRequestAdded:
      traced.cpuMicrosPerRequest === null || service.cpuMicrosPerRequest === null
        ? null
        : traced.cpuMicrosPerRequest - service.cpuMicrosPerRequest,
    spansExportedPerRequest: traced.spansExportedPerRequest,
    setup:
      'OTLP http/protobuf to a sink on 127.0.0.1 that only counts spans and answers 200 (BSP queue 65536, batch 2048)',
  };
  const sampled = results.find((r) => r.name === SAMPLED_RUN);
  const grpc = byName('service, gRPC Fulfill');
  const generic = byName('service, generic JSON');
  const transfer = byName(TRANSFER_RUN);
  const transferBaseline = results.find((r) => r.name === TRANSFER_BASELINE_RUN);
  const platformRows = results.filter((r) => PLATFORM_RUNS.some((run) => run.name === r.name));
  const target = (value, goal, meets) => ({
    value,
    goal,
    met: value === null || value === undefined ? null : meets(value),
  });
  // Issue 14's targets, each from this run alone: from the interleaved rounds where they ran (measurePairs), else
  // from the rows above; `sequential` keeps the rows' own ratio, `rounds` each round's.
  const pairedPlatforms = Object.entries(paired).filter(([key]) => key.startsWith('platformVsEs: '));
  if (pairedPlatforms.length > 0) {
    paired.platformsVsEs = {
      median: Object.fromEntries(
        pairedPlatforms.map(([key, value]) => [key.slice('platformVsEs: '.length), value.median]),
      ),
      rounds: Object.fromEntries(
        pairedPlatforms.map(([key, value]) => [key.slice('platformVsEs: '.length), value.rounds]),
      ),
    };
  }
  const goal = (key, sequential, goalText, meets) => ({
    ...target(paired[key]?.median ?? sequential, goalText, meets),
    sequential,
    ...(paired[key] && { rounds: paired[key].rounds }),
  });
  const goals = {
    serviceVsExpressSelect: goal('serviceVsExpressSelect', ratios.vsExpressSelect, '>= 0.8', (v) => v >= 0.8),
    tracingOnVsOff: goal('tracingOnVsOff', traced ? ratio(traced, service) : null, '>= 0.75', (v) => v >= 0.75),
    sampled10PercentVsOff: goal(
      'sampled10PercentVsOff',
      sampled ? ratio(sampled, service) : null,
      '>= 0.92',
      (v) => v >= 0.92,
    ),
    grpcVsHttpGeneric: goal('grpcVsHttpGeneric', ratio(grpc, generic), '>= 1.5', (v) => v >= 1.5),
    platformsVsEs: goal(
      'platformsVsEs',
      platformRows.length ? Object.fromEntries(platformRows.map((r) => [r.name, ratio(r, service)])) : null,
      'each within 0.85..1.15',
      (v) => Object.values(v).every((x) => x >= 0.85 && x <= 1.15),
    ),
    transferVsBaseline: goal('transferVsBaseline', ratio(transfer, transferBaseline), '>= 0.6', (v) => v >= 0.6),
    p99VsExpressP99: goal(
      'p99VsExpressP99',
      expressSelect && service ? +(service.p99Ms / expressSelect.p99Ms).toFixed(2) : null,
      '<= 2',
      (v) => v <= 2,
    ),
    serviceRssMbAfterRuns: target(serviceRssMb ?? null, '<= 250', (v) => v <= 250),
    startupMs: target(startup?.medianMs ?? null, '<= 1500', (v) => v <= 1500),
  };
  // What the targets above are measured against: the transport's own cost, the tail's shape, the chart's heap.
  const chartHeap = results.find((r) => r.name === CHART_HEAP_RUN);
  const tail = (row) => (row?.p50Ms ? +(row.p99Ms / row.p50Ms).toFixed(2) : null);
  const fromRounds = (key) =>
    paired[key] ? { value: paired[key].median, rounds: paired[key].rounds, rows: ratios[key] } : ratios[key];
  const context = {
    // The first target's gap in two: bare Nest ÷ the express reference, and the service ÷ bare Nest.
    nestVsExpressSelect: fromRounds('nestVsExpressSelect'),
    serviceVsNestSelect: fromRounds('serviceVsNestSelect'),
    grpcJsVsExpress: ratios.grpcJsVsExpress,
    p99OverP50Service: tail(service),
    p99OverP50Express: tail(expressSelect),
    transferCpuMinusReadmeTurnCpu:
      transfer?.cpuMicrosPerRequest != null && service?.cpuMicrosPerRequest != null
        ? transfer.cpuMicrosPerRequest - service.cpuMicrosPerRequest
        : null,
    chartHeapVsDefault: ratio(chartHeap, service),
    serviceRssMbUnderChartHeapLimit: chartHeapRssMb ?? null,
  };
  // Issue 16's figures.
  const cached = results.find((r) => r.name === CACHED_RUN);
  const replicaRow = results.find((r) => r.name === REPLICA_RUN);
  const cacheGoals = {
    cachedVsUncachedBalanceTurn: target(ratio(cached, service), '>= 1.3', (v) => v >= 1.3),
    replicaRoutedVsPrimary: target(ratio(replicaRow, service), 'reported', () => true),
    replicaShareOfReads: target(replicaShare ?? null, 'reported (1: every read on the replica)', () => true),
    invalidationStaleFirstReads: target(invalidation?.staleFirstReads ?? null, '0', (v) => v === 0),
    invalidationPropagationP99Seconds: target(invalidation?.propagationP99UpToSeconds ?? null, 'reported', () => true),
  };
  // Issue 17's figure: the turn log is written off the request path, in batches; it should cost almost nothing.
  const turnLogOff = results.find((r) => r.name === TURN_LOG_OFF_RUN);
  const consoleGoals = {
    turnLogOnVsOff: goal('turnLogOnVsOff', ratio(service, turnLogOff), '>= 0.97', (v) => v >= 0.97),
  };
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    pinned: pinning ? 'servers on core 0, load generator (autocannon) on core 1' : 'no taskset: not pinned',
    database: db.kind,
    connections: CONNECTIONS,
    durationSeconds: DURATION_S,
    results,
    ratios,
    ...(tracing && { tracing }),
    ...(overload && { overload }),
    ...(startup && { startup }),
    serviceRssMb: serviceRssMb ?? null,
    goals,
    context,
    cacheGoals,
    consoleGoals,
    ...(invalidation && { invalidation }),
    target: `service >= ${TARGET_RATIO} x node:http + SELECT`,
    meetsTarget: ratios.vsPgSelect >= TARGET_RATIO,
  };

  const rows = results.map((r) => [
    r.name,
    String(r.requestsPerSecond),
    String(r.p50Ms),
    String(r.p99Ms),
    String(r.cpuMicrosPerRequest ?? 'n/a'),
    String(r.errors),
    (service.requestsPerSecond / r.requestsPerSecond).toFixed(2),
  ]);
  const header = ['target', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'errors', 'service ÷ this'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  rows.forEach((row) => console.log(line(row)));
  console.log(
    `\n${CONNECTIONS} connections, ${DURATION_S} s each after ${WARMUP_S} s warm-up; ${report.pinned}; database: ${db.kind}` +
      `\ntarget ${report.target}: ${report.meetsTarget ? 'met' : 'NOT met'} (${ratios.vsPgSelect})` +
      `\nHMAC ÷ bearer: ${ratios.hmacVsBearer}; JWT ÷ bearer: ${ratios.jwtVsBearer}` +
      `\nbare grpc-js ÷ bare express (the same SELECT): ${ratios.grpcJsVsExpress}` +
      (tracing
        ? `\ntracing on ÷ off: ${tracing.requestsPerSecondOnVsOff} req/s, +${tracing.cpuMicrosPerRequestAdded} CPU µs/req, ` +
          `${tracing.spansExportedPerRequest} spans exported per request`
        : '') +
      (overload
        ? `\n${overload.name}: ${overload.rate} req/s offered (saturation ${overload.saturatingRps} req/s), ` +
          `${overload.withinDeadlinePercent} % of replies within the ${overload.platformDeadlineMs} ms platform deadline ` +
          `(p50 ${overload.p50Ms} ms, p99 ${overload.p99Ms} ms, max ${overload.maxMs} ms); ` +
          `statuses ${JSON.stringify(overload.byStatus)}, outcomes ${JSON.stringify(overload.byOutcome)}, ` +
          `errors ${JSON.stringify(overload.errors)}; first ${overload.warmup.seconds} s (cold connections, reported apart): ` +
          `${overload.warmup.withinDeadlinePercent} % within, max ${overload.warmup.maxMs} ms`
        : ''),
  );

  console.log(
    `\nissue 14 targets (null: not measured in this run; ratios from ${PAIRED_ROUNDS} interleaved rounds of ` +
      `${PAIRED_SECONDS} s where measured, "rows:" the rows above)`,
  );
  printGoals(goals);

  console.log('issue 14 context (reported; null: not measured in this run)');
  for (const [name, value] of Object.entries(context)) console.log(`  ${name}: ${JSON.stringify(value)}`);

  console.log('\nissue 16 figures (null: not measured in this run)');
  printGoals(cacheGoals);
  if (invalidation) console.log(`  ${INVALIDATION_RUN}: ${JSON.stringify(invalidation)}`);

  console.log('\nissue 17 figures (null: not measured in this run; from the interleaved rounds where measured)');
  printGoals(consoleGoals);

  const dir = join(root, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  await writeFile(join(dir, 'latest.json'), json);
  await writeFile(join(dir, `bench-${report.date.replace(/[:.]/g, '-')}.json`), json);
  console.log(`written to bench/results/latest.json`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
