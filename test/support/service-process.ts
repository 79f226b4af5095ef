import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

/** Ports below the kernel's ephemeral range (32768–60999 on Linux by default). */
const FIXED_PORTS = { from: 20_000, count: 12_000 };

/**
 * Each jest worker picks from its own slice of them: a test file may hold a port free between its service's
 * restarts (a PostgreSQL outage, a drain), and a file in another worker must not take it in between.
 * TEST_PORT_SLICE picks the first slice of a whole jest run instead, its workers taking the next ones: `npm test`
 * runs the fault tests beside the other run, and both have a worker 1 (a replica of the fault tests once failed to
 * listen on a port worker 1 of the other run had just handed out); the newcomer check, whose clones run npm test
 * themselves, takes slices of its own too.
 */
const WORKER_SLICE = 1_000;
const workerPorts = (() => {
  const slices = FIXED_PORTS.count / WORKER_SLICE;
  const chosen = Number(process.env.TEST_PORT_SLICE);
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  const index =
    process.env.TEST_PORT_SLICE !== undefined && Number.isInteger(chosen) && chosen >= 0
      ? (chosen + (Number.isInteger(worker) && worker > 0 ? worker - 1 : 0)) % slices
      : Number.isInteger(worker) && worker > 0
        ? (worker - 1) % slices
        : 0;
  return { from: FIXED_PORTS.from + index * WORKER_SLICE, count: WORKER_SLICE };
})();

/** The ports this test process handed out last, none of them handed out again (a file's few, with room to spare). */
const handedOut = new Set<number>();
const RECENT_PORTS = 100;

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A port free now for a service to bind later. Below the ephemeral range: a port from there (`listen(0)`) can be
 * taken, before the service binds it, by any outgoing connection's local end (a pool's, a client's), which a
 * listener bound last after start-up (the console's) met in CI.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = workerPorts.from + Math.floor(Math.random() * workerPorts.count);
    // Free now is not enough: a port handed out earlier may not be bound yet (CI gave one service's embedded
    // PostgreSQL and its HTTP server the same port).
    if (handedOut.has(port)) continue;
    if (await canBind(port)) {
      handedOut.add(port);
      // A Set iterates in insertion order: the first is the oldest.
      if (handedOut.size > RECENT_PORTS) handedOut.delete(handedOut.values().next().value as number);
      return port;
    }
  }
  throw new Error('no free port below the ephemeral range');
}

/** Ends a child process at once (SIGKILL) unless it has ended already. */
export function killIfRunning(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Ends a service at once (SIGKILL) unless it has ended already, and waits for its exit. */
export async function killService(service: ServiceProcess | undefined): Promise<void> {
  if (!service) return;
  killIfRunning(service.child);
  await service.exited;
}

/** A process's exit if it comes within `ms`, else 'still running'; the wait holds nothing open once it is over. */
export function exitWithin<T>(exited: Promise<T>, ms: number): Promise<T | 'still running'> {
  return Promise.race([exited, sleep(ms, undefined, { ref: false }).then(() => 'still running' as const)]);
}

/** The environment a child service starts from: PATH and HOME only, nothing else inherited. */
export function cleanEnv(env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    NO_COLOR: '1',
    // Fixed default ports would collide between test files running at once; tests that need them opt in.
    GRPC_ENABLED: 'false',
    METRICS_ENABLED: 'false',
    ADMIN_ENABLED: 'false',
    OTEL_SDK_DISABLED: 'true',
    ...env,
  };
}

const PIPES_END_WAIT_MS = 2000;

/** Resolves once the child's piped output and error streams have ended (been read to the end). */
function pipesEnded(child: ChildProcess): Promise<unknown> {
  const ended = (stream: NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean }) =>
    stream.readableEnded || stream.destroyed
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          stream.once('end', resolve);
          stream.once('close', resolve);
        });
  return Promise.all([child.stdout, child.stderr].filter((stream) => stream !== null).map(ended));
}

export interface ServiceProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves when the output matches, rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs the built service (`node dist/main.js`, or another build's entry point) as a real process. Its standard
 * output is a pipe read here unless `stdout` gives another file descriptor (then only stderr is in `output()`).
 */
export function startService(
  env: Record<string, string>,
  main = MAIN,
  stdout?: number,
  { detached = false }: { detached?: boolean } = {},
): ServiceProcess {
  // Detached: in a process group of its own, as a shell runs a command (the group is what Ctrl-C signals).
  const child = spawn(process.execPath, [main], {
    env: cleanEnv(env),
    stdio: ['ignore', stdout ?? 'pipe', 'pipe'],
    detached,
  });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    listeners.forEach((listener) => listener());
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      // 'exit' can come before the last lines are read from the pipes ("Stopped cleanly" missing from a clean
      // exit's output): wait for them to end, at most a moment (a process the service started may hold them open).
      void Promise.race([pipesEnded(child), sleep(PIPES_END_WAIT_MS, undefined, { ref: false })]).then(() =>
        resolve({ code, signal }),
      );
    }),
  );
  return {
    child,
    output: () => output,
    exited,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(output)) {
            cleanup();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern}; output so far:\n${output}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then(() => {
          if (!pattern.test(output)) {
            cleanup();
            reject(new Error(`service exited before ${pattern}; output:\n${output}`));
          }
        });
        check();
      }),
  };
}
