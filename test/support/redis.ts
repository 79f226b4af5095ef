import { spawn } from 'node:child_process';
import Redis from 'ioredis';
import { eventually } from './eventually';
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

/** A redis-server of the test's own, for tests that change how the server behaves (its role, its limits). */
export interface PrivateRedis {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts one on a free port, like the global setup's (nothing on disk). Fails, never skips, without redis-server.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => {
    throw new Error(`redis-server could not start (${error.message}): install it (apt-get install redis-server)`);
  });
  const url = `redis://127.0.0.1:${port}`;
  await eventually(async () => {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  }, 10_000);
  return {
    url,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
