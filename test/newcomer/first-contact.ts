import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/service-process';

/**
 * What a newcomer does first, on a fresh clone: the README's two commands. `npm install && npm start` until the
 * README's curl answers (twice: the first start initialises everything, the second should be quick), then
 * `npm test` on a small subset that needs PostgreSQL and Redis without being given either. The two spec files beside
 * this one run it as a new non-root user in its own (private) home folder and as root from a mode-700 folder, at
 * the same time (jest.newcomer.config.js: one worker each).
 *
 * Needs root (it creates a user). The timings are written to bench/results/newcomer-<who>.json, never asserted.
 */
const ROOT = join(__dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
// The README's request on PostgreSQL, and two replicas sharing rate limits in Redis (HTTPS and gRPC).
const TEST_SUBSET = ['src/config', 'test/dialogflow-es.e2e-spec.ts', 'test/rate-limit-headers.e2e-spec.ts'];

export interface Person {
  readonly label: string;
  /** Runs a shell command as this person in `cwd`; resolves with its output, rejects on a non-zero exit. */
  run(command: string, cwd: string, env?: Record<string, string>): Promise<string>;
  /** Starts a long-running shell command in its own process group. */
  start(command: string, cwd: string, env: Record<string, string>): ChildProcess;
  readonly home: string;
}

function twoCommands(): { install: string; test: string } {
  const block = /## The two commands\s+```sh\n([\s\S]*?)```/.exec(README)?.[1] ?? '';
  const commands = block.split('\n').map((line) => line.replace(/#.*$/, '').trim());
  const install = commands.find((line) => line.startsWith('npm install'));
  const test = commands.find((line) => line.startsWith('npm test'));
  if (install !== 'npm install && npm start' || test !== 'npm test') {
    throw new Error(`README's two commands changed: ${JSON.stringify(commands)}`);
  }
  return { install, test };
}

function readmeCurl(port: number): string {
  const example = /```sh\n(curl -s http:\/\/127\.0\.0\.1:8080\/v1\/webhooks\/dialogflow-es[\s\S]*?)```/.exec(
    README,
  )?.[1];
  if (!example) throw new Error('README has no curl example');
  return example.replace('127.0.0.1:8080', `127.0.0.1:${port}`);
}

function shell(argv: string[], cwd: string, env: NodeJS.ProcessEnv, detached = false): ChildProcess {
  return spawn(argv[0], argv.slice(1), { cwd, env, detached, stdio: ['ignore', 'pipe', 'pipe'] });
}

function collect(child: ChildProcess, what: string): Promise<string> {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${what} exited with ${code}:\n${output.slice(-6000)}`)),
    ),
  );
}

const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/**
 * The machine's own trust settings, as its users' shells have them: where the registry is reached through a TLS
 * proxy with a CA of its own (as on this VM), npm without it fails every request and falls back to its cache after
 * retries (on Node 22: three minutes instead of half a minute), which tells nothing about the two commands.
 */
const MACHINE_TRUST = Object.fromEntries(
  ['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR']
    .map((name) => [name, process.env[name]] as const)
    .filter((entry): entry is readonly [string, string] => entry[1] !== undefined),
);

export function asUser(name: string): Person {
  const home = `/home/${name}`;
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    HOME: home,
    USER: name,
    LOGNAME: name,
    PATH: BASE_PATH,
    LANG: 'C.UTF-8',
    ...MACHINE_TRUST,
    ...extra,
  });
  const argv = (command: string) => ['runuser', '-u', name, '--', 'bash', '-c', command];
  return {
    label: `non-root user ${name} in ${home}`,
    home,
    run: (command, cwd, extra) => collect(shell(argv(command), cwd, env(extra)), command),
    start: (command, cwd, extra) => shell(argv(command), cwd, env(extra), true),
  };
}

/**
 * Root, with `nodeBin` (a folder holding another `node`, e.g. the official Node 22 build) first on its PATH when
 * given: `.ci/run` gives one (WF_NEWCOMER_ROOT_NODE_BIN), so that a supported Node line npm test does not run on
 * there still gets a first contact.
 */
export function asRoot(nodeBin?: string): Person {
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    HOME: homedir(),
    USER: 'root',
    PATH: nodeBin ? `${nodeBin}:${BASE_PATH}` : BASE_PATH,
    LANG: 'C.UTF-8',
    ...MACHINE_TRUST,
    ...extra,
  });
  return {
    label: 'root in a mode-700 folder',
    home: homedir(),
    run: (command, cwd, extra) => collect(shell(['bash', '-c', command], cwd, env(extra)), command),
    start: (command, cwd, extra) => shell(['bash', '-c', command], cwd, env(extra), true),
  };
}

/** Signals a process group; false when no process of it is left. */
function signalGroup(group: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-group, signal);
    return true;
  } catch {
    return false;
  }
}

interface Started {
  /** From the command's start to the first right answer. */
  ms: number;
  /** From npm's start of `npm start` (its prestart line) to the first right answer. */
  startMs: number;
  stop(): Promise<void>;
}

/** Runs the command (`npm install && npm start`, or `npm start`) until the README curl answers. */
async function startUntilAnswered(person: Person, app: string, command: string): Promise<Started> {
  const ports = {
    PORT: await freePort(),
    GRPC_PORT: await freePort(),
    METRICS_PORT: await freePort(),
    ADMIN_PORT: await freePort(),
    EMBEDDED_PG_PORT: await freePort(),
  };
  const env = Object.fromEntries(Object.entries(ports).map(([key, value]) => [key, String(value)]));
  const started = Date.now();
  const child = person.start(command, app, env);
  let output = '';
  let startRequested: number | undefined;
  const onData = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    // npm announces each script it runs; `npm start` begins with its prestart (the build check).
    if (startRequested === undefined && /> \S+ prestart\n/.test(output)) startRequested = Date.now();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Like Ctrl-C in the terminal: the whole process group (bash, npm, node) gets the signal; done when all of it
  // has exited (npm may exit before the service has finished its graceful shutdown).
  const stop = async (): Promise<void> => {
    const group = child.pid;
    if (group === undefined) return;
    signalGroup(group, 'SIGINT');
    await exited;
    const deadline = Date.now() + 30_000;
    while (signalGroup(group, 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    if (signalGroup(group, 0)) signalGroup(group, 'SIGKILL');
  };
  const curl = readmeCurl(ports.PORT);
  const deadline = started + 10 * 60_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}:\n${output.slice(-6000)}`);
      if (Date.now() > deadline)
        throw new Error(`the README curl got no answer within 10 minutes:\n${output.slice(-6000)}`);
      const answer = await person.run(curl, app).catch(() => '');
      if (answer.includes('Your checking account balance is $3,247.82.')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error: unknown) {
    await stop();
    throw error;
  }
  const answered = Date.now();
  return {
    ms: answered - started,
    startMs: answered - (startRequested ?? started),
    stop: async () => {
      await stop();
      expect(output).toMatch(/Stopped cleanly/);
    },
  };
}

export interface Figures {
  who: string;
  /** `node --version` as this person runs it. */
  node?: string;
  /** `npm install && npm start` until the README curl answers. */
  installAndFirstAnswerMs?: number;
  /** Of that, from `npm start` on (build, initdb, migrations, demo data, listen). */
  firstStartMs?: number;
  /** `npm start` again, until the curl answers. */
  secondStartMs?: number;
  testSubsetMs?: number;
}

/** A newcomer spec file's git bundle to clone from, and the figures it writes at its end. */
export interface NewcomerFile {
  /** The bundle's path, once the file's tests have begun. */
  bundle(): string;
  readonly figures: Figures[];
}

/**
 * Registers a spec file's set-up: a git bundle of the committed state to clone from, and its figures written to
 * bench/results/newcomer-`who`.json at the end.
 */
export function newcomerFile(who: string): NewcomerFile {
  const figures: Figures[] = [];
  let bundleDir: string | undefined;
  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error('the newcomer check creates a user: run it as root (.ci/run does)');
    bundleDir = mkdtempSync(join(tmpdir(), 'wf-newcomer-bundle-'));
    chmodSync(bundleDir, 0o755);
    // The committed state, as a clean clone has it; a bundle can be cloned by any user (a repository owned by
    // someone else cannot, git refuses it as "dubious ownership").
    execFileSync('git', ['bundle', 'create', join(bundleDir, 'repo.bundle'), 'HEAD'], { cwd: ROOT, stdio: 'ignore' });
    chmodSync(join(bundleDir, 'repo.bundle'), 0o644);
  });
  afterAll(() => {
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
    const results = join(ROOT, 'bench', 'results');
    mkdirSync(results, { recursive: true });
    writeFileSync(join(results, `newcomer-${who}.json`), `${JSON.stringify(figures, null, 2)}\n`);
    process.stdout.write(`newcomer figures (${who}): ${JSON.stringify(figures)}\n`);
  });
  return {
    figures,
    bundle: () => {
      if (!bundleDir) throw new Error('the newcomer file has not set up yet');
      return join(bundleDir, 'repo.bundle');
    },
  };
}

/**
 * The two commands on a fresh clone in `app`, by `person`; the clone's npm test takes the test-port slices from
 * `portSlice` on (its workers one each), apart from the other clone's running at the same time.
 */
export async function firstContact(file: NewcomerFile, person: Person, app: string, portSlice: number): Promise<void> {
  const { install, test } = twoCommands();
  const figure: Figures = { who: person.label };
  file.figures.push(figure);
  figure.node = (await person.run('node --version', person.home)).trim();
  await person.run(`git -c advice.detachedHead=false clone --quiet ${file.bundle()} ${app}`, person.home);

  const first = await startUntilAnswered(person, app, install);
  figure.installAndFirstAnswerMs = first.ms;
  figure.firstStartMs = first.startMs;
  await first.stop();

  const second = await startUntilAnswered(person, app, 'npm start');
  figure.secondStartMs = second.ms;
  await second.stop();

  const started = Date.now();
  // Test ports of their own (see test/support/service-process.ts), whatever else runs beside this check.
  const output = await person.run(`${test} -- ${TEST_SUBSET.join(' ')}`, app, { TEST_PORT_SLICE: String(portSlice) });
  figure.testSubsetMs = Date.now() - started;
  const [, passed, total] = /Tests:\s+(\d+) passed, (\d+) total/.exec(output) ?? [];
  expect(Number(total)).toBeGreaterThan(0);
  expect(passed).toBe(total);
}
