import Redis, { Cluster, type ClusterNode, type ClusterOptions, type Command, type RedisOptions } from 'ioredis';
import { startNoAnswerTimer } from '../no-answer-timer';

/**
 * A connection with commands waiting that has read nothing for this long is taken for dead and made again (ioredis's
 * `socketTimeout`): a path that went dead without a word (a failed-over node's host gone) otherwise keeps it for as
 * long as TCP retransmits, about a quarter of an hour, every command meanwhile timing out. Well above the commands'
 * own timeouts, so a Redis that is only slow is not reconnected to.
 */
export const REDIS_SOCKET_TIMEOUT_MS = 2000;
/** How often a connection that sends nothing of its own (a subscriber) is asked a PING, so a dead one is noticed. */
export const REDIS_HEARTBEAT_INTERVAL_MS = 5000;

/** `READONLY You can't write against a read only replica.`, also as a script's error when one of its writes met it. */
const READ_ONLY_REPLY = /\bREADONLY\b/;

/** Whether Redis refused a write because the server the connection reached is a replica. */
export function isReadOnlyReply(error: Error): boolean {
  return READ_ONLY_REPLY.test(error.message);
}

/**
 * Redis Sentinels that say where the primary of the group `name` is (REDIS_SENTINELS, REDIS_SENTINEL_NAME): a
 * connection asks them each time it connects, so it follows their failovers; REDIS_URL then gives only the
 * credentials and database number.
 */
export interface RedisSentinels {
  readonly addresses: readonly { readonly host: string; readonly port: number }[];
  readonly name: string;
  readonly password?: string;
}

/** A connection to Redis: one server (REDIS_URL, or the primary its Sentinels name), or a Redis Cluster. */
export type RedisConnection = Redis | Cluster;

/** How REDIS_URL is reached: as it is, through Sentinels that name its primary, or as one node of a Redis Cluster. */
export interface RedisTopology {
  readonly sentinels?: RedisSentinels;
  /**
   * REDIS_CLUSTER: REDIS_URL names one node of a Redis Cluster (or its configuration endpoint); the others, and
   * which holds which keys, are learned from it and followed through failovers and resharding.
   */
  readonly cluster?: boolean;
}

/**
 * A connection to REDIS_URL (or to the primary its Sentinels name) that leaves a dead path (REDIS_SOCKET_TIMEOUT_MS) and a server that takes no writes. A
 * managed Redis fails over by moving its primary endpoint to the promoted replica, while the connections opened
 * before still reach the old primary, now a replica of the new one: every write there is answered READONLY, for as
 * long as the connection lasts (ioredis reconnects only when a connection ends). A READONLY reply here fails its
 * command as any Redis error does (the caller's fallback applies) and ends the connection, so the next one is made
 * to whatever the address names now. In a cluster, the client follows the cluster's own redirections instead.
 */
export function redisClient(url: string, options: RedisOptions, topology: RedisTopology = {}): RedisConnection {
  if (topology.cluster) return clusterClient(url, options);
  const { sentinels } = topology;
  const { commandTimeout, ...rest } = options;
  return new PatientRedis(commandTimeout, url, {
    socketTimeout: REDIS_SOCKET_TIMEOUT_MS,
    ...rest,
    ...(sentinels && {
      sentinels: sentinels.addresses.map(({ host, port }) => ({ host, port })),
      name: sentinels.name,
      ...(sentinels.password !== undefined && { sentinelPassword: sentinels.password }),
    }),
    reconnectOnError: isReadOnlyReply,
  });
}

/**
 * A Redis Cluster client seeded with REDIS_URL's node, its credentials and TLS applying to every node. The
 * caller's queueing choice holds for the cluster as a whole: without an offline queue a command fails at once
 * while the cluster is unreachable. Nodes are reached at the addresses the cluster announces; over TLS their
 * certificates are checked against those names (`dnsLookup` keeps them as given, as managed clusters need).
 */
function clusterClient(url: string, options: RedisOptions): Cluster {
  const seed = new URL(url);
  const { commandTimeout, ...nodeOptions } = options;
  const startupNodes = [{ host: seed.hostname.replace(/^\[|\]$/g, ''), port: Number(seed.port || 6379) }];
  return new PatientCluster(commandTimeout, startupNodes, {
    enableOfflineQueue: options.enableOfflineQueue ?? true,
    lazyConnect: options.lazyConnect ?? false,
    // Asking a node for the slot map may take as long as any command on a busy host (ioredis waits 1 s).
    slotsRefreshTimeout: REDIS_SOCKET_TIMEOUT_MS,
    dnsLookup: (address, lookedUp) => lookedUp(null, address),
    redisOptions: clusterNodeOptions(url, nodeOptions),
  });
}

/** The commands already given their deadline: a command sent again (a cluster's redirection) keeps its first one. */
const timedCommands = new WeakSet<Command>();

/**
 * Fails `command` as ioredis's own `commandTimeout` does ("Command timed out") when `ms` pass without its reply, but
 * decides only once the event loop has read the replies already waiting (startNoAnswerTimer). ioredis's timer
 * fires before the loop polls its sockets: a process held up past the deadline (a GC pause, a burst of work on
 * starved cores) failed a command Redis had long answered, and the caller's fallback (rate limits not counted, the
 * cache skipped, a replay check failing) applied although Redis was fine.
 */
function giveDeadline(command: Command, ms: number | undefined): void {
  if (ms === undefined || command.isResolved || timedCommands.has(command)) return;
  timedCommands.add(command);
  const stop = startNoAnswerTimer(ms, () => {
    if (!command.isResolved) command.reject(new Error('Command timed out'));
  });
  command.promise.then(stop, stop);
}

/** A connection to one server whose commands each have `commandTimeoutMs` (see giveDeadline). */
class PatientRedis extends Redis {
  private readonly commandTimeoutMs?: number;

  constructor(commandTimeoutMs: number | undefined, url: string, options: RedisOptions) {
    super(url, options);
    this.commandTimeoutMs = commandTimeoutMs;
  }

  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    giveDeadline(command, this.commandTimeoutMs);
    return super.sendCommand(command, stream);
  }
}

/** A Redis Cluster client whose commands each have `commandTimeoutMs`, across redirections (see giveDeadline). */
class PatientCluster extends Cluster {
  private readonly commandTimeoutMs?: number;

  constructor(commandTimeoutMs: number | undefined, startupNodes: ClusterNode[], options: ClusterOptions) {
    super(startupNodes, options);
    this.commandTimeoutMs = commandTimeoutMs;
  }

  override sendCommand(command: Command, stream?: Parameters<Cluster['sendCommand']>[1], node?: unknown): unknown {
    giveDeadline(command, this.commandTimeoutMs);
    return super.sendCommand(command, stream, node);
  }
}

/** The options of a connection to one node of the cluster REDIS_URL names: its credentials and TLS, and `options`. */
export function clusterNodeOptions(url: string, options: RedisOptions = {}): RedisOptions {
  const seed = new URL(url);
  return {
    socketTimeout: REDIS_SOCKET_TIMEOUT_MS,
    ...options,
    ...(seed.username && { username: decodeURIComponent(seed.username) }),
    ...(seed.password && { password: decodeURIComponent(seed.password) }),
    ...(seed.protocol === 'rediss:' && { tls: {} }),
  };
}

/**
 * PINGs `redis` every REDIS_HEARTBEAT_INTERVAL_MS while it is connected, for a connection that only listens: with
 * the socket timeout, one whose path went dead is then made again. Returns what stops it.
 */
export function keepAlive(redis: RedisConnection): () => void {
  const timer = setInterval(() => {
    if (redis.status === 'ready') redis.ping().catch(() => undefined);
  }, REDIS_HEARTBEAT_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
