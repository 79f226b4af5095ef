import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import * as pg from 'pg';
import { answeredWithin } from '../common/answered-within';
import { runInBackground } from '../common/work-scope';
import { AppConfig } from '../config';
import { APPLICATION_NAME, CONNECT_TIMEOUT_MS } from './data-source-options';
import { type GuardedClient, type GuardedClientClass } from './guarded-client';
import { readTimeoutMs } from './guarded-client';
import { PgPools } from './pg-pools';

const RECONNECT_DELAYS_MS = [250, 500, 1000, 2000, 5000];
/**
 * How often the listening connection is asked a `SELECT 1`. A listener only ever reads: without a question of its
 * own it would never learn that its path went dead (a failed-over primary's host gone, a black-holed route), and
 * TCP keepalive takes hours to. One unanswered within the pools' read timeout ends the connection.
 */
export const HEARTBEAT_INTERVAL_MS = 5000;
const NOTIFY = 'SELECT pg_notify($1, $2)';
/** Several messages in one statement, in the array's order (all are taken at its commit, or none). */
const NOTIFY_ALL = 'SELECT pg_notify($1, message) FROM unnest($2::text[]) AS message';
/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. */
export const MAX_NOTIFY_PAYLOAD_BYTES = 7900;

/** One LISTEN/NOTIFY channel: what `PgNotifications.channel` hands out. */
export interface NotificationChannel {
  publish(message: string): Promise<void>;
  /** Publishes the messages in their order in one statement: all are taken at its commit, or none. */
  publishAll(messages: readonly string[]): Promise<void>;
  /**
   * `onListening` is called each time the subscription takes effect: at first (`afterGap` false) and after every
   * reconnection (true). Messages sent before it may have been missed.
   */
  subscribe(onMessage: (message: string) => void, onListening: (afterGap: boolean) => void): void;
  /**
   * Whether every message committed before the call has been handed to the listeners: a `SELECT 1` on the listening
   * connection (the server sends the notifications it has for a session before it says it is ready again). False
   * while not listening, or without an answer within CAUGHT_UP_TIMEOUT_MS.
   */
  caughtUp(): Promise<boolean>;
  /** Whether the listening connection is up (it listens on every channel). */
  listening(): boolean;
}

/** How long the listening connection's round trip may take before the messages it would have fenced count as missed. */
export const CAUGHT_UP_TIMEOUT_MS = 500;

interface Listener {
  readonly onMessage: (message: string) => void;
  readonly onListening: (afterGap: boolean) => void;
}

/**
 * PostgreSQL LISTEN/NOTIFY for messages between replicas when there is no Redis (the cache's invalidations). One
 * connection of its own (a listening session cannot go back to the pool; it also needs session pooling if a
 * PgBouncer sits in front), reconnected with backoff; after a reconnection every listener is told that messages
 * may have been missed. Notifications are sent on that connection too (through the pool while it is down).
 */
@Injectable()
export class PgNotifications implements OnApplicationShutdown {
  private readonly logger = new Logger('PostgreSQL');
  private readonly listeners = new Map<string, Listener[]>();
  private readonly Client: GuardedClientClass;
  private client?: GuardedClient;
  /** The listening connection while a notification sent on it goes unanswered. */
  private unanswered?: GuardedClient;
  /** The connection being opened: shutdown ends it too (it used to open after shutdown, listening for ever). */
  private opening?: GuardedClient;
  private heartbeat?: NodeJS.Timeout;
  private beating = false;
  private connecting = false;
  private connectedOnce = false;
  private failures = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly config: AppConfig,
    private readonly pools: PgPools,
  ) {
    this.Client = pools.clientClass(readTimeoutMs(config.database), (error) =>
      this.logger.warn(`The notification connection was lost: ${error.message}`),
    );
  }

  channel(name: string): NotificationChannel {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid channel name "${name}"`);
    return {
      publish: (message) => this.publish(NOTIFY, [name, message], [message]),
      publishAll: (messages) =>
        messages.length === 1
          ? this.publish(NOTIFY, [name, messages[0]], messages)
          : this.publish(NOTIFY_ALL, [name, messages], messages),
      caughtUp: () => this.caughtUp(),
      listening: () => this.client !== undefined,
      subscribe: (onMessage, onListening) => {
        const listeners = this.listeners.get(name) ?? [];
        listeners.push({ onMessage, onListening });
        this.listeners.set(name, listeners);
        const client = this.client;
        if (!client) return this.connect();
        client.query(`LISTEN ${name}`).then(
          () => onListening(false),
          () => client.end().catch(() => undefined),
        );
      },
    };
  }

  /**
   * On the listening connection when it is up and answers: the process's own, so a notification never waits for
   * the pool, nor fails because the turn that sends it has spent its share of the connections or its deadline (a
   * cache invalidation lost so leaves the other replicas serving what the write changed). Otherwise, or without an
   * answer within CAUGHT_UP_TIMEOUT_MS (its path may have gone silent; the message may then arrive twice), through
   * the pool as background work, without the turn's lane or deadline.
   */
  private async publish(statement: string, params: unknown[], messages: readonly string[]): Promise<void> {
    if (messages.some((message) => Buffer.byteLength(message) > MAX_NOTIFY_PAYLOAD_BYTES)) {
      throw new Error('notification too long');
    }
    const client = this.client;
    if (client && client !== this.unanswered) {
      const sent = client.query(statement, params);
      if (await answeredWithin(sent, CAUGHT_UP_TIMEOUT_MS)) return;
      // Until it answers, the others go through the pool at once.
      this.unanswered = client;
      const answered = (): void => {
        if (this.unanswered === client) this.unanswered = undefined;
      };
      sent.then(answered, answered);
    }
    await runInBackground(() => this.pools.primary.query(statement, params));
  }

  private caughtUp(): Promise<boolean> {
    const client = this.client;
    if (!client) return Promise.resolve(false);
    return answeredWithin(client.query('SELECT 1'), CAUGHT_UP_TIMEOUT_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    const open = [this.client, this.opening].filter((client): client is GuardedClient => client !== undefined);
    await Promise.all(open.map((client) => client.end().catch(() => undefined)));
  }

  private connect(): void {
    if (this.connecting || this.closed) return;
    this.connecting = true;
    const client = new this.Client({
      connectionString: this.config.database.url,
      application_name: `${APPLICATION_NAME}-notifications`,
      keepAlive: true,
      // A connection attempt that is never answered (a black-holed address) must not keep it from trying again.
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    const lost = (): void => {
      if (this.client === client) this.client = undefined;
      client.removeAllListeners('notification');
      this.scheduleReconnect();
    };
    this.opening = client;
    client.on('error', () => client.destroy());
    client.on('end', lost);
    client.on('notification', (notification: pg.Notification) => {
      for (const listener of this.listeners.get(notification.channel) ?? []) {
        listener.onMessage(notification.payload ?? '');
      }
    });
    client
      .connect()
      .then(async () => {
        // A listening session is idle by design: a server-wide idle_session_timeout (PostgreSQL 14+) would end it
        // every time, and each reconnection drops the cache. Older servers do not know the setting.
        await client.query('SET idle_session_timeout = 0').catch(() => undefined);
        for (const name of this.listeners.keys()) await client.query(`LISTEN ${name}`);
        // Shut down meanwhile: its end (from shutdown) must not open another.
        if (this.closed) throw new Error('shut down while connecting');
        this.opening = undefined;
        this.client = client;
        this.connecting = false;
        this.failures = 0;
        this.startHeartbeat();
        const afterGap = this.connectedOnce;
        this.connectedOnce = true;
        this.listeners.forEach((listeners) => listeners.forEach((listener) => listener.onListening(afterGap)));
      })
      .catch(() => {
        this.connecting = false;
        if (this.opening === client) this.opening = undefined;
        client.removeListener('end', lost);
        client.end().catch(() => undefined);
        this.scheduleReconnect();
      });
  }

  private startHeartbeat(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      const client = this.client;
      if (!client || this.beating) return;
      this.beating = true;
      // No answer in time: the guarded client ends the connection itself ('error', then 'end': a reconnection).
      client
        .query('SELECT 1')
        .catch(() => undefined)
        .finally(() => (this.beating = false));
    }, HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timer) return;
    const delay = RECONNECT_DELAYS_MS[Math.min(this.failures++, RECONNECT_DELAYS_MS.length - 1)];
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect();
    }, delay);
    this.timer.unref();
  }
}
