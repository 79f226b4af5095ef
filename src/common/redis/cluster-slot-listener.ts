import { EventEmitter } from 'node:events';
import Redis, { type Cluster, type RedisOptions } from 'ioredis';
import { type ChannelListener, pingedWithin } from './channel-listener';
import { closeRedis } from './close-redis';

/** The pause before the first attempt after a loss; it doubles with each failed one, up to LONGEST_PAUSE_MS. */
export const FIRST_PAUSE_MS = 100;
export const LONGEST_PAUSE_MS = 2000;
/**
 * How often the channel is subscribed again on its connection. A node that no longer serves the channel's slot
 * (a resharding, a manual failover that made it a replica) answers MOVED, and the listener moves; asking keeps a
 * dead path noticed too (the socket timeout needs a command waiting).
 */
export const RECHECK_INTERVAL_MS = 1000;
/**
 * What ioredis reports when a reply came that no command of the connection asked for. On a listening connection
 * that is the server unsubscribing it (SUNSUBSCRIBE) because its node no longer serves the channel's slot (a
 * failover made it a replica, the slot was migrated): the subscription is gone and the connection must be left.
 */
const UNASKED_REPLY = /^Command queue state error/;

/**
 * A listener for one sharded Pub/Sub channel (SSUBSCRIBE, Redis 7) of a Redis Cluster: a connection of its own to the
 * master that serves the channel's slot, as the cluster client `cluster` knows the slot map. When the connection is
 * lost or the slot has moved, it asks the cluster for the slot map again and connects to whoever serves the slot,
 * pausing between failed attempts.
 *
 * ioredis's own (`shardedSubscribers`) keeps one per master, and when a master is gone with no replica to take over
 * its slots, it connects to it and asks for the slot map again without a pause, some 70 times a second: a whole core
 * for as long as the master is down, on every replica of the service.
 */
export class ClusterSlotListener extends EventEmitter implements ChannelListener {
  private connection?: Redis;
  /** The connection Redis last confirmed the subscription on. */
  private subscribedOn?: Redis;
  private subscribedOnce = false;
  private slot?: number;
  private failures = 0;
  private retry?: NodeJS.Timeout;
  private closed = false;
  private readonly recheck: NodeJS.Timeout;

  constructor(
    private readonly cluster: Cluster,
    private readonly channel: string,
    /** The options of a connection to a node (credentials, TLS); the host and port come from the slot map. */
    private readonly nodeOptions: RedisOptions,
  ) {
    super();
    this.recheck = setInterval(() => this.subscribe(), RECHECK_INTERVAL_MS);
    this.recheck.unref();
    if (cluster.status === 'ready') void this.connect();
    else cluster.once('ready', () => void this.connect());
  }

  get connected(): boolean {
    return this.connection?.status === 'ready';
  }

  async caughtUp(): Promise<boolean> {
    const connection = this.connection;
    return connection !== undefined && this.subscribedOn === connection && this.connected && pingedWithin(connection);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.recheck);
    clearTimeout(this.retry);
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await closeRedis(connection);
  }

  /** The node serving the channel's slot, as `host:port`; undefined while the cluster does not say. */
  private async owner(): Promise<string | undefined> {
    this.slot ??= Number(await this.cluster.cluster('KEYSLOT', this.channel));
    return this.cluster.slots[this.slot]?.[0];
  }

  private async connect(): Promise<void> {
    this.retry = undefined;
    if (this.closed || this.connection) return;
    const owner = await this.owner().catch((error: unknown) => void this.emit('error', error));
    if (this.closed || this.connection) return;
    if (!owner) return this.lost();
    const at = owner.lastIndexOf(':');
    const connection = new Redis({
      ...this.nodeOptions,
      host: owner.slice(0, at).replace(/^\[|\]$/g, ''),
      port: Number(owner.slice(at + 1)),
      // This class makes the next connection, to whichever node serves the slot then.
      retryStrategy: () => null,
      autoResubscribe: false,
      maxRetriesPerRequest: null,
    });
    this.connection = connection;
    connection.on('error', (error: Error) => {
      if (UNASKED_REPLY.test(error.message)) return connection.disconnect();
      this.emit('error', error);
    });
    connection.on('smessage', (_channel: string, message: string) => this.emit('message', message));
    // SSUBSCRIBE answered MOVED: another node serves the slot now.
    connection.on('moved', () => connection.disconnect());
    connection.on('ready', () => void this.ready(connection));
    connection.once('end', () => {
      if (this.connection !== connection) return;
      this.connection = undefined;
      this.lost();
    });
  }

  /**
   * A replica takes SSUBSCRIBE too, and hands the channel's messages on only once they have reached it: the slot map
   * the connection was made from was out of date (a failover just now), so it is left for the master.
   */
  private async ready(connection: Redis): Promise<void> {
    const [role] = (await connection.role().catch(() => ['unknown'])) as [string];
    if (connection !== this.connection) return;
    if (role !== 'master') return void connection.disconnect();
    this.emit('connected');
    this.subscribe();
  }

  private subscribe(): void {
    const connection = this.connection;
    if (connection?.status !== 'ready') return;
    connection.ssubscribe(this.channel).then(
      () => {
        if (connection !== this.connection || this.subscribedOn === connection) return;
        this.subscribedOn = connection;
        this.failures = 0;
        this.emit('subscribed', this.subscribedOnce);
        this.subscribedOnce = true;
      },
      // A connection given up (the slot moved) fails what it had sent: that is no news.
      (error: unknown) => connection.status === 'ready' && this.emit('error', error),
    );
  }

  /**
   * Connects again after a pause that grows with each failed attempt, and after the cluster has been asked for the
   * slot map again (successfully or not).
   */
  private lost(): void {
    if (this.closed || this.retry) return;
    const pause = Math.min(FIRST_PAUSE_MS * 2 ** this.failures, LONGEST_PAUSE_MS);
    this.failures += 1;
    const refreshed = new Promise<void>((resolve) => this.cluster.refreshSlotsCache(() => resolve()));
    this.retry = setTimeout(() => void refreshed.then(() => this.connect()), pause);
    this.retry.unref();
  }
}
