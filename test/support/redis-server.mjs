// The Redis the tests use: REDIS_URL when the user set it, otherwise a real redis-server started on a free
// port for this run (nothing on disk), the way the tests start PostgreSQL. Without redis-server installed the
// run still goes on; only the tests that need Redis fail, with the message below.
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from '../../scripts/free-port.mjs';

export const REDIS_MISSING =
  'redis-server is not installed: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) ' +
  'or set REDIS_URL to a Redis the tests may use';

function ping(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500, () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => (socket.destroy(), resolve(data.toString().startsWith('+PONG'))));
  });
}

/** @returns {Promise<{ url?: string, unavailable?: string, stop(): Promise<void> }>} */
export async function startTestRedis(env = process.env) {
  if (env.REDIS_URL) return { url: env.REDIS_URL, stop: async () => undefined };
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) {
    return { unavailable: REDIS_MISSING, stop: async () => undefined };
  }
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (chunk) => (log = (log + chunk).slice(-2000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      return { unavailable: `redis-server did not start on port ${port}: ${log.trim()}`, stop: async () => undefined };
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
