import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { startNoAnswerTimer } from '../common/no-answer-timer';
import { AppConfig } from '../config';
import { isSilentPath } from './connection-errors';
import { APPLICATION_NAME } from './data-source-options';
import type { GuardedClient } from './guarded-client';
import { PgPools } from './pg-pools';

export const PROBE_TIMEOUT_MS = 2000;

/**
 * One round trip to PostgreSQL on a connection of its own, outside the pool: whether the server answers is
 * then never confused with whether the pool has a free connection (a pool full of slow turns is busy, not
 * down). The connection is opened when first needed, and replaced after any failure and once it has ended.
 *
 * When the path to the server is silent (no answer in time, no route, nobody listening), the pool's connections to
 * it are given up too (`PgPools.serverSilent`): they share the path.
 */
@Injectable()
export class DatabaseProbe implements OnModuleDestroy {
  private client?: GuardedClient;
  /** Whether the probe's current connection has answered (a silent path then is news, not an outage going on). */
  private answered = false;
  private inFlight?: Promise<void>;
  private closed = false;

  constructor(
    private readonly config: AppConfig,
    private readonly pools: PgPools,
  ) {}

  /** Resolves when `SELECT 1` was answered within the probe timeout; rejects with the reason otherwise. */
  ping(): Promise<void> {
    // Concurrent probes (readiness, the recovery timer) share one round trip.
    this.inFlight ??= this.roundTrip().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    await this.drop();
  }

  private async roundTrip(): Promise<void> {
    if (this.closed) throw new Error('the database probe is closed');
    const since = this.pools.open.now();
    let stopTimer = (): void => undefined;
    const timeout = new Promise<never>((_, reject) => {
      stopTimer = startNoAnswerTimer(PROBE_TIMEOUT_MS, () =>
        reject(Object.assign(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' })),
      );
    });
    try {
      await Promise.race([this.query(), timeout]);
    } catch (error: unknown) {
      const client = this.client;
      if (client && !this.closed && this.pathWentSilent(client, error)) {
        const why = error instanceof Error ? error.message : String(error);
        this.pools.serverSilent({ host: client.host, port: client.port }, why, { news: this.answered, since });
      }
      this.answered = false;
      await this.drop();
      throw error;
    } finally {
      stopTimer();
    }
  }

  /**
   * Whether `error` says the path to the probe's server is silent: its connection, which had answered, got no
   * answer (or lost its route), or nothing at the address takes a connection at all. Not a server that took the
   * connection and was slow to set it up (an overloaded server, a pooler waiting for a server of its own): the
   * connections it already has may be serving.
   */
  private pathWentSilent(client: GuardedClient, error: unknown): boolean {
    return isSilentPath(error) && (this.answered || !client.reachedServer);
  }

  private async query(): Promise<void> {
    if (!this.client) {
      this.answered = false;
      const Client = this.pools.clientClass(PROBE_TIMEOUT_MS);
      const client = new Client({
        connectionString: this.config.database.url,
        application_name: `${APPLICATION_NAME}-probe`,
        connectionTimeoutMillis: PROBE_TIMEOUT_MS,
        keepAlive: true,
      });
      this.client = client;
      // Ended while idle (idle_session_timeout, an administrator ending idle sessions, a proxy's idle timeout):
      // the next probe opens a new connection instead of reporting the old one's end as an outage.
      client.once('end', () => {
        if (this.client === client) this.client = undefined;
      });
      await client.connect();
    }
    await this.client?.query('SELECT 1');
    this.answered = true;
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    // end() waits for the server's goodbye, which a dead path never sends: then the socket is destroyed.
    const ended = await Promise.race([
      client.end().then(
        () => true,
        () => false,
      ),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 200)),
    ]);
    if (!ended) client.destroy();
  }
}
