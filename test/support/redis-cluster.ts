import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './service-process';

const run = promisify(execFile);

/** A real Redis Cluster of the test's own: three masters on 127.0.0.1, the slots shared out among them. */
export interface RedisClusterForTests {
  /** The first node's URL: what REDIS_URL names with REDIS_CLUSTER=true. */
  readonly url: string;
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

/** redis-server's and redis-cli's TLS arguments for the development certificates in `certs` (server.crt, ca.crt). */
function tlsArguments(certs: string | undefined, role: 'server' | 'cli'): string[] {
  if (!certs) return [];
  if (role === 'cli') return ['--tls', '--cacert', join(certs, 'ca.crt')];
  return [
    '--tls-cluster',
    'yes',
    '--tls-cert-file',
    join(certs, 'server.crt'),
    '--tls-key-file',
    join(certs, 'server.key'),
    // The cluster bus: each node connects to the others as a client, which they verify whatever tls-auth-clients says.
    '--tls-client-cert-file',
    join(certs, 'client.crt'),
    '--tls-client-key-file',
    join(certs, 'client.key'),
    '--tls-ca-cert-file',
    join(certs, 'ca.crt'),
    '--tls-auth-clients',
    'no',
  ];
}

async function startNode(dir: string, port: number, busPort: number, certs?: string): Promise<ChildProcess> {
  const listen = certs ? ['--port', '0', '--tls-port', String(port)] : ['--port', String(port)];
  const child = spawn(
    'redis-server',
    [
      ...listen,
      ...tlsArguments(certs, 'server'),
      '--cluster-port',
      String(busPort),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${port}.conf`),
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port}: ${log}`)), 10_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`redis-server could not start: ${error.message} (install it: apt-get install redis-server)`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${String(code)}): ${log}`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-2000);
      if (!/Ready to accept connections/.test(log)) return;
      clearTimeout(timer);
      resolve();
    });
  });
  child.removeAllListeners('exit');
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

/**
 * Starts three cluster-enabled redis-servers, joins them (`redis-cli --cluster create`) and waits for state ok.
 * With `tlsCerts` (a folder of the development certificates) every node and the cluster bus speak TLS only
 * (`rediss://`), with server.crt, which names 127.0.0.1: the address the nodes announce.
 */
export async function startRedisCluster(options: { tlsCerts?: string } = {}): Promise<RedisClusterForTests> {
  const { tlsCerts } = options;
  const cli = tlsArguments(tlsCerts, 'cli');
  const dir = mkdtempSync(join(tmpdir(), 'wf-redis-cluster-'));
  const nodes: ChildProcess[] = [];
  const ports: number[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      nodes.map(
        (node) =>
          new Promise<void>((resolve) => {
            if (node.exitCode !== null || node.signalCode !== null) return resolve();
            node.once('exit', () => resolve());
            node.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let index = 0; index < 3; index += 1) {
      const port = await freePort();
      nodes.push(await startNode(dir, port, await freePort(), tlsCerts));
      ports.push(port);
    }
    const addresses = ports.map((port) => `127.0.0.1:${port}`);
    await run('redis-cli', [...cli, '--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
    for (const deadline = Date.now() + 20_000; ;) {
      const states = await Promise.all(
        ports.map(async (port) => (await run('redis-cli', [...cli, '-p', String(port), 'cluster', 'info'])).stdout),
      );
      if (states.every((info) => /cluster_state:ok/.test(info))) break;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster did not come up:\n${states.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error: unknown) {
    await stop();
    throw error;
  }
  return {
    url: `${tlsCerts ? 'rediss' : 'redis'}://127.0.0.1:${ports[0]}`,
    ports,
    stop,
  };
}
