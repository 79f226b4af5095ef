import { EventEmitter } from 'node:events';
import type Redis from 'ioredis';
import { answeredWithin } from '../answered-within';
import { closeRedis } from './close-redis';
import { keepAlive, redisClient, type RedisTopology } from './redis-client';

/**
 * A connection that listens to one Pub/Sub channel and makes itself again when lost. Events: `connected` for each
 * connection (the first and every one after a loss), before its subscription is sent; `subscribed` (`afterGap`:
 * not the first) once Redis has confirmed it on that connection; `message`; `error`.
 */
export interface ChannelListener {
  /** Whether its connection is up now (its subscription may still be on its way). */
  readonly connected: boolean;
  /**
   * Whether every message published on the channel before the call has been handed to the `message` listeners:
   * a round trip on the subscribed connection (Redis answers a connection's commands in order, after the messages
   * it queued for it). False when not subscribed, or without an answer within CAUGHT_UP_TIMEOUT_MS.
   */
  caughtUp(): Promise<boolean>;
  on(event: 'connected', listener: () => void): this;
  on(event: 'subscribed', listener: (afterGap: boolean) => void): this;
  on(event: 'message', listener: (message: string) => void): this;
  on(event: 'error', listener: (error: unknown) => void): this;
  close(): Promise<void>;
}

/** How long a listener's round trip may take before the messages it would have fenced count as missed. */
export const CAUGHT_UP_TIMEOUT_MS = 500;

/** A PING on a subscribed connection: answered after every message queued for it before. */
export function pingedWithin(connection: Redis, timeoutMs = CAUGHT_UP_TIMEOUT_MS): Promise<boolean> {
  return answeredWithin(connection.ping(), timeoutMs);
}

/** A channel listener on a lone Redis server (or the primary its Sentinels name): SUBSCRIBE, followed by ioredis. */
export class ServerChannelListener extends EventEmitter implements ChannelListener {
  private readonly redis: Redis;
  private readonly stopHeartbeat: () => void;
  private subscribedOnce = false;
  /** Redis confirmed the subscription on the connection that is up now. */
  private subscribed = false;

  constructor(url: string, channel: string, topology?: RedisTopology) {
    super();
    this.redis = redisClient(url, { maxRetriesPerRequest: null, enableOfflineQueue: true }, topology) as Redis;
    this.redis.on('error', (error: Error) => this.emit('error', error));
    this.redis.on('message', (_channel: string, message: string) => this.emit('message', message));
    // 'ready' comes before ioredis's own resubscription after a reconnect: the listener is told once Redis confirmed.
    this.redis.on('ready', () => {
      this.subscribed = false;
      this.emit('connected');
      this.redis.subscribe(channel).then(
        () => {
          this.subscribed = true;
          this.emit('subscribed', this.subscribedOnce);
          this.subscribedOnce = true;
        },
        (error: unknown) => this.emit('error', error),
      );
    });
    this.stopHeartbeat = keepAlive(this.redis);
  }

  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  async caughtUp(): Promise<boolean> {
    return this.connected && this.subscribed && pingedWithin(this.redis);
  }

  async close(): Promise<void> {
    this.stopHeartbeat();
    await closeRedis(this.redis);
  }
}
