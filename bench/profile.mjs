// npm run bench:profile: where a turn's CPU goes, stage by stage (the cost table in the README's benchmark
// section). The service runs the README request (static bearer token, 50 connections, tracing off) twice:
// once plain, for the CPU µs per request, and once under the V8 sampling profiler (started after warm-up by
// bench/profiler-hook.mjs), whose samples are shared out over the stages. Each sample goes to the deepest
// frame of the stack that belongs to a stage, so time spent in node:http or in a library on a stage's
// behalf counts for that stage. Stage µs = share of the busy samples × the plain run's CPU µs per request.
// A third run under V8's sampling heap profiler shares the bytes a turn allocates out over the stages by the same
// rule (what is freed again counts too: garbage made is what the collector's stage pays for). PROFILE_PROMOTED=1 leaves
// out what a scavenge frees: what is left outlived one (held across a collection, copied, perhaps promoted).
// PROFILE_OUT=<file> keeps the .cpuprofile (open it in Chrome DevTools); PROFILE_TRACING=1 runs with every
// span exported (OTLP http/protobuf to a sink on 127.0.0.1 that answers 200), as bench/run.mjs's traced row.
// The database is bench/run.mjs's too (bench/database.mjs): DATABASE_URL's server, or an embedded PostgreSQL the
// bench starts, off the service's core.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createTransferCustomers, startBenchDatabase } from './database.mjs';
import {
  BEARER_TOKEN,
  checkAnswer,
  cpuMicros,
  exportEverySpan,
  load,
  root,
  startOtlpSink,
  startServer,
} from './harness.mjs';
import { PLATFORM_RUNS, platformBody, README_BODY, transferBody } from './request.mjs';
import { freePort } from '../scripts/free-port.mjs';

const SECONDS = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP_S = Number(process.env.BENCH_WARMUP ?? 3);

/** Our own compiled code (dist/ or src/ outside node_modules) under `path`. */
const own = (path) => new RegExp(`^(?!.*node_modules).*/(dist|src)/${path}`);
const lib = (names) => new RegExp(`node_modules/(${names})/`);

/** Stages in the order a request meets them; a frame belongs to the first stage one of whose patterns matches. */
export const STAGES = [
  ['body read', [own('common/http/json-body'), lib('raw-body')]],
  ['auth', [own('auth/'), lib('jose')]],
  ['throttle', [own('throttling/'), lib('@nestjs/throttler')]],
  ['validation', [own('common/validation/'), lib('class-validator|class-transformer'), /\.request\.(js|ts)$/]],
  ['gRPC transport', [own('grpc/'), lib('@grpc/grpc-js|@grpc/proto-loader|protobufjs|@nestjs/microservices')]],
  ['handler', [own('intents/')]],
  // The operator console's turn log: the journal's hand-over and the writer's batches (its INSERT's pg work counts
  // for the database below, shared by every turn of a batch).
  ['turn log', [own('(console/|observability/turn-journal)')]],
  ['database', [own('database/'), lib('pg|pg-pool|pg-protocol|pg-types|postgres-[a-z]+|pg-cursor')]],
  ['render', [own('platforms/')]],
  ['pipeline', [own('(turn|fulfillment|idempotency|async)/'), own('common/(work-scope|deadline)')]],
  // The access line is written from the response's 'close' event, where no stage's frame is above it.
  [
    'logging',
    [own('observability/(logging|access-log)'), lib('pino|@pinojs|sonic-boom|nestjs-pino|pino-std-serializers')],
  ],
  ['metrics', [own('observability/(metrics|event-loop-load|overload)'), lib('@opentelemetry/sdk-metrics')]],
  ['tracing', [own('observability/(tracing|span|telemetry|job-tracing)'), lib('@opentelemetry/[a-z-]+')]],
  [
    'framework (Nest, express, node:http)',
    [
      lib('@nestjs/core|@nestjs/common|@nestjs/platform-express|express|router|finalhandler|path-to-regexp|parseurl'),
      own('(common|app|main)'),
    ],
  ],
];

/**
 * PROFILE_TURN picks the row: `es` (the README request, the default), `transfer` (bench/run.mjs's TransferFunds
 * row, a new generic turn each request), `grpc` (its gRPC Fulfill row), or a platform row (`generic`, `cx`, `lex`,
 * `rasa`: the same GetAccountBalance request in that platform's format, as bench/run.mjs sends it).
 */
const BALANCE = '$3,247.82';
const TURNS = {
  es: { path: '/v1/webhooks/dialogflow-es', body: () => README_BODY, expected: BALANCE },
  transfer: {
    path: '/v1/webhooks/generic',
    body: () => transferBody('__TURN_ID__'),
    // Its customers (BENCH-TX-…) are not demo data: without them every turn would answer "no accounts found".
    prepare: createTransferCustomers,
    check: () => transferBody(`profile-check-${Date.now().toString(36)}`, 'BENCH-TX-0'),
    expected: 'Done',
  },
  grpc: { grpc: true, body: () => README_BODY, expected: BALANCE },
  ...Object.fromEntries(
    PLATFORM_RUNS.map((run) => [run.key, { path: run.path, body: () => platformBody(run), expected: BALANCE }]),
  ),
};
const TURN = TURNS[process.env.PROFILE_TURN ?? 'es'];
if (!TURN) throw new Error(`PROFILE_TURN must be one of ${Object.keys(TURNS).join(', ')}`);
const BODY = TURN.body();

/**
 * One run: warm-up, then the measured load; with `profileFile`, a profiler runs during the measured part: V8's CPU
 * profiler, or with `kind` 'heap' its sampling heap profiler.
 */
async function run(env, profileFile, kind = 'cpu') {
  const port = await freePort();
  const grpcPort = await freePort();
  const server = await startServer(
    'the service',
    'dist/main.js',
    {
      ...env,
      PORT: String(port),
      GRPC_PORT: String(grpcPort),
      METRICS_PORT: String(await freePort()),
      PROFILE_OUT: profileFile ?? '',
      PROFILE_KIND: kind,
    },
    profileFile ? ['--import', pathToFileURL(join(root, 'bench', 'profiler-hook.mjs')).href] : [],
  );
  const target = TURN.grpc
    ? { grpc: `127.0.0.1:${grpcPort}`, expected: TURN.expected }
    : `http://127.0.0.1:${port}${TURN.path}`;
  const auth = { kind: 'bearer', token: BEARER_TOKEN };
  try {
    await TURN.prepare?.(env.DATABASE_URL);
    // A profile of another answer (a refusal, "no accounts found") would describe another request.
    if (!TURN.grpc) await checkAnswer(target, TURN.expected, TURN.check?.() ?? BODY);
    await load(target, WARMUP_S, auth, BODY);
    if (profileFile) process.kill(server.pid, 'SIGUSR2');
    const before = cpuMicros(server.pid);
    const result = await load(target, SECONDS, auth, BODY);
    // A profile of refusals would describe another request.
    const failed = result.errors + (result.timeouts ?? 0) + result.non2xx;
    if (failed > 0) {
      const statuses = JSON.stringify(result.statusCodeStats ?? {});
      throw new Error(`${failed} of ${result.requests.total} requests failed or were refused (statuses ${statuses})`);
    }
    const cpu = (cpuMicros(server.pid) - before) / result.requests.total;
    if (profileFile) {
      process.kill(server.pid, 'SIGUSR2');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    }
    return { requests: result.requests.total, requestsPerSecond: Math.round(result.requests.average), cpu };
  } finally {
    await server.stop();
  }
}

/**
 * dist/main.bundle.js is one bundle (scripts/bundle.mjs): a frame in it is told apart by the file its function came
 * from, which the bundle's source map names (our TypeScript sources, or the package file under node_modules).
 */
export function originalUrls(bundle = join(root, 'dist', 'main.bundle.js')) {
  const map = new SourceMap(JSON.parse(readFileSync(`${bundle}.map`, 'utf8')));
  const bundleUrl = pathToFileURL(bundle).href;
  const cache = new Map();
  return ({ url, lineNumber, columnNumber }) => {
    if (url !== bundleUrl && url !== bundle) return url;
    const key = `${lineNumber}:${columnNumber}`;
    if (!cache.has(key)) cache.set(key, map.findEntry(lineNumber, columnNumber)?.originalSource ?? url);
    return cache.get(key);
  };
}

const UNCLAIMED = 'node:http, sockets, event loop';

/** The stage a frame's own code belongs to, or undefined when it is its caller's. */
function frameStage(callFrame, urlOf) {
  const { functionName } = callFrame;
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(idle)') return 'idle';
  const url = urlOf(callFrame);
  return STAGES.find(([, patterns]) => patterns.some((pattern) => pattern.test(url)))?.[0];
}

/** Busy sample time per stage, in µs; idle time is left out. `urlOf` gives a frame's source file. */
export function stageTimes(profile, urlOf = (callFrame) => callFrame.url) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const stageOf = new Map();
  const classify = (id) => {
    if (stageOf.has(id)) return stageOf.get(id);
    let stage = frameStage(byId.get(id).callFrame, urlOf);
    if (stage === undefined) stage = parent.has(id) ? classify(parent.get(id)) : UNCLAIMED;
    stageOf.set(id, stage);
    return stage;
  };
  const times = new Map();
  profile.samples.forEach((id, index) => {
    const stage = classify(id);
    times.set(stage, (times.get(stage) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  times.delete('idle');
  return times;
}

/**
 * Bytes allocated per stage in a sampling heap profile (V8's estimate from its samples), by the same rule as
 * stageTimes: an allocation counts for the deepest frame of its stack that belongs to a stage.
 */
export function stageBytes(profile, urlOf = (callFrame) => callFrame.url) {
  const bytes = new Map();
  const visit = (node, inherited) => {
    const stage = frameStage(node.callFrame, urlOf) ?? inherited;
    if (node.selfSize > 0) bytes.set(stage, (bytes.get(stage) ?? 0) + node.selfSize);
    for (const child of node.children ?? []) visit(child, stage);
  };
  visit(profile.head, UNCLAIMED);
  return bytes;
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'wf-profile-'));
  const callers = join(dir, 'callers.yaml');
  await writeFile(
    callers,
    `callers:\n  - id: bench-bearer\n    platforms: [dialogflow-es, dialogflow-cx, lex-v2, rasa, generic]\n    auth: { bearer: { tokens: [${BEARER_TOKEN}] } }\n`,
  );
  const db = await startBenchDatabase(Date.now().toString(36));
  const env = {
    DATABASE_URL: db.url,
    SEED_DEMO_DATA: 'true',
    LOG_LEVEL: 'info',
    CALLERS_FILE: callers,
    THROTTLE_LIMIT: '1000000',
    PREAUTH_LIMIT: '10000000',
    OTEL_SDK_DISABLED: 'true',
    // As bench/run.mjs's service rows: every turn reads PostgreSQL (PROFILE_CACHE=1: the read-through cache on).
    CACHE_ENABLED: process.env.PROFILE_CACHE === '1' ? 'true' : 'false',
  };
  const sink = process.env.PROFILE_TRACING === '1' ? await startOtlpSink() : undefined;
  if (sink) Object.assign(env, exportEverySpan(sink.url));
  const profileFile = process.env.PROFILE_OUT ?? join(dir, 'service.cpuprofile');
  const heapFile = `${profileFile.replace(/\.cpuprofile$/, '')}.heapprofile`;
  try {
    const plain = await run(env);
    const profiled = await run(env, profileFile);
    // A run of its own: the heap profiler's stack captures would shift the CPU profile's shares.
    const sampled = await run(env, heapFile, 'heap');
    const urlOf = originalUrls();
    const times = stageTimes(JSON.parse(readFileSync(profileFile, 'utf8')), urlOf);
    const bytes = stageBytes(JSON.parse(readFileSync(heapFile, 'utf8')), urlOf);
    const busy = [...times.values()].reduce((sum, time) => sum + time, 0);
    const kilobytes = (stage) => (bytes.get(stage) ?? 0) / 1024 / sampled.requests;
    const order = [...STAGES.map(([name]) => name), UNCLAIMED, 'garbage collection'];
    const rows = order
      .filter((stage) => times.has(stage) || bytes.has(stage))
      .map((stage) => {
        const share = (times.get(stage) ?? 0) / busy;
        return {
          stage,
          share: +(share * 100).toFixed(1),
          cpuMicrosPerRequest: Math.round(share * plain.cpu),
          kilobytesPerRequest: kilobytes(stage),
        };
      });
    const width = Math.max(...rows.map((row) => row.stage.length));
    const bytesHeading = process.env.PROFILE_PROMOTED === '1' ? 'KB outliving a scavenge/req' : 'KB allocated/req';
    console.log(`\n${'stage'.padEnd(width)}  CPU µs/req  share  ${bytesHeading}`);
    for (const row of rows) {
      console.log(
        `${row.stage.padEnd(width)}  ${String(row.cpuMicrosPerRequest).padStart(10)}  ${row.share.toFixed(1).padStart(4)} %` +
          `  ${row.kilobytesPerRequest.toFixed(1).padStart(16)}`,
      );
    }
    const allocated = rows.reduce((sum, row) => sum + row.kilobytesPerRequest, 0);
    console.log(
      `${'total'.padEnd(width)}  ${String(Math.round(plain.cpu)).padStart(10)}         ${allocated.toFixed(1).padStart(16)}` +
        `  (${plain.requestsPerSecond} req/s unprofiled; ${Math.round(profiled.cpu)} µs/req and ` +
        `${profiled.requestsPerSecond} req/s under the CPU profiler)`,
    );
    if (process.env.PROFILE_OUT) console.log(`profiles written to ${profileFile} and ${heapFile}`);
  } finally {
    await sink?.close();
    await db.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
