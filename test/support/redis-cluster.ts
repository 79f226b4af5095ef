import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startRedisServer } from './redis';
import { freePort } from './service-process';

const run = promisify(execFile);

/** A real Redis Cluster of the test's own: three masters on 127.0.0.1 (each with a replica if asked for). */
export interface RedisClusterForTests {
  /** The first node's URL: what REDIS_URL names with REDIS_CLUSTER=true. */
  readonly url: string;
  /** Every node's port, the masters' first. */
  readonly ports: readonly number[];
  /** A command to one node through redis-cli (`--raw`): its output. */
  command(port: number, ...args: string[]): Promise<string>;
  /** SIGKILL to one node: gone as a crashed host is, its replica (if any) promoted once the others notice. */
  kill(port: number): Promise<void>;
  /** Starts a killed node again on its port, with its cluster configuration: it rejoins with the slots it had. */
  restart(port: number): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** A folder of the development certificates: every node and the cluster bus then speak TLS only (`rediss://`). */
  readonly tlsCerts?: string;
  /** Replicas per master (0 or 1): with one, a master's failure promotes its replica. */
  readonly replicas?: 0 | 1;
  /** cluster-node-timeout: how long a node is unreachable before the others fail it over. */
  readonly nodeTimeoutMs?: number;
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

function startNode(
  dir: string,
  port: number,
  busPort: number,
  certs: string | undefined,
  nodeTimeoutMs: number,
): Promise<ChildProcess> {
  const listen = certs ? ['--port', '0', '--tls-port', String(port)] : ['--port', String(port)];
  return startRedisServer(
    [
      ...listen,
      ...tlsArguments(certs, 'server'),
      '--cluster-port',
      String(busPort),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-node-timeout',
      String(nodeTimeoutMs),
      '--cluster-config-file',
      join(dir, `nodes-${port}.conf`),
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    port,
  );
}

/**
 * Starts three cluster-enabled redis-servers (six with a replica each), joins them (`redis-cli --cluster create`)
 * and waits for state ok. Over TLS the nodes use server.crt, which names 127.0.0.1: the address they announce.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterForTests> {
  const { tlsCerts, replicas = 0, nodeTimeoutMs = 15_000 } = options;
  const cli = tlsArguments(tlsCerts, 'cli');
  const dir = mkdtempSync(join(tmpdir(), 'wf-redis-cluster-'));
  const nodes: ChildProcess[] = [];
  const ports: number[] = [];
  const busPorts: number[] = [];
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
    for (let index = 0; index < 3 * (1 + replicas); index += 1) {
      const [port, busPort] = [await freePort(), await freePort()];
      nodes.push(await startNode(dir, port, busPort, tlsCerts, nodeTimeoutMs));
      ports.push(port);
      busPorts.push(busPort);
    }
    const addresses = ports.map((port) => `127.0.0.1:${port}`);
    await run('redis-cli', [
      ...cli,
      '--cluster',
      'create',
      ...addresses,
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    for (const deadline = Date.now() + 20_000; ;) {
      const states = await Promise.all(
        ports.map(async (port) => (await run('redis-cli', [...cli, '-p', String(port), 'cluster', 'info'])).stdout),
      );
      if (states.every((info) => /cluster_state:ok/.test(info))) break;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster did not come up:\n${states.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // A replica that has not synced with its master cannot be promoted: a master killed before then leaves its slots
    // served by nobody. Every replica's link must be up before the cluster is handed out.
    for (const deadline = Date.now() + 20_000; ;) {
      const roles = await Promise.all(
        ports.map(async (port) => (await run('redis-cli', [...cli, '-p', String(port), 'info', 'replication'])).stdout),
      );
      const synced = roles.filter((info) => /role:slave/.test(info) && /master_link_status:up/.test(info)).length;
      if (synced === 3 * replicas) break;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster's replicas did not sync:\n${roles.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error: unknown) {
    await stop();
    throw error;
  }
  return {
    url: `${tlsCerts ? 'rediss' : 'redis'}://127.0.0.1:${ports[0]}`,
    ports,
    command: async (port, ...args) => (await run('redis-cli', [...cli, '--raw', '-p', String(port), ...args])).stdout,
    kill: async (port) => {
      const node = nodes[ports.indexOf(port)];
      if (!node || node.exitCode !== null || node.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => node.once('exit', () => resolve()));
      node.kill('SIGKILL');
      await exited;
    },
    restart: async (port) => {
      const index = ports.indexOf(port);
      const node = nodes[index];
      if (!node || (node.exitCode === null && node.signalCode === null)) throw new Error(`node ${port} is running`);
      nodes[index] = await startNode(dir, port, busPorts[index], tlsCerts, nodeTimeoutMs);
    },
    stop,
  };
}
