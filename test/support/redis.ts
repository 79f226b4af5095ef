import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort } from './service-process';

/**
 * The Redis URL for tests that need one (set up by the global setup: REDIS_URL, or a redis-server it started).
 * Throws, so the test fails with the reason, when there is none: such a test must never pass by skipping.
 */
export function testRedisUrl(): string {
  const url = process.env.WF_TEST_REDIS_URL;
  if (url) return url;
  throw new Error(process.env.WF_TEST_REDIS_UNAVAILABLE ?? 'no Redis for the tests: run them through jest (npm test)');
}

/**
 * Runs `redis-server` with `args` (listening on `port`) and resolves once it accepts connections, reading its own
 * log line, not a client's ping: a client given up while it connects leaves a timer behind (ioredis). Fails, never
 * skips, without redis-server.
 */
export async function startRedisServer(args: readonly string[], port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port}: ${log}`)), 10_000);
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`redis-server could not start: ${why}`));
    };
    child.once('error', (error) => fail(`${error.message} (install it: apt-get install redis-server)`));
    child.once('exit', (code) => fail(`it exited (${String(code)}): ${log}`));
    child.stdout?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-2000);
      if (!/Ready to accept connections/.test(log)) return;
      clearTimeout(timer);
      resolve();
    });
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

/** A redis-server of the test's own, for tests that change how the server behaves (its role, its limits). */
export interface PrivateRedis {
  readonly url: string;
  /** A client of the test's own, over TLS when the server serves it. */
  client(): Redis;
  stop(): Promise<void>;
}

/**
 * Starts one on a free port, like the global setup's (nothing on disk). Fails, never skips, without redis-server.
 * With `tlsCerts` (a folder of the development certificates) it serves TLS only (`rediss://`), with server.crt.
 */
export async function startPrivateRedis(options: { tlsCerts?: string } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const { tlsCerts } = options;
  const listen = tlsCerts
    ? ['--port', '0', '--tls-port', String(port), '--tls-auth-clients', 'no']
    : ['--port', String(port)];
  const certificates = tlsCerts
    ? ['--tls-cert-file', join(tlsCerts, 'server.crt'), '--tls-key-file', join(tlsCerts, 'server.key')]
    : [];
  const child = await startRedisServer(
    [...listen, ...certificates, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    port,
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `${tlsCerts ? 'rediss' : 'redis'}://127.0.0.1:${port}`;
  const tls = tlsCerts ? { tls: { ca: readFileSync(join(tlsCerts, 'ca.crt')) } } : {};
  return {
    url,
    client: () => new Redis(url, tls),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
