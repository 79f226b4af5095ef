import { Injectable, Logger, Module, Optional } from '@nestjs/common';
import * as pg from 'pg';
import { BACKGROUND_LANE, currentWorkScope } from '../common/work-scope';
import { AppConfig, type PostgresServer, serverName } from '../config';
import { Metrics } from '../observability/metrics';
import { raisedWhileConnecting } from './connection-errors';
import { CONNECT_TIMEOUT_MS } from './data-source-options';
import { guardedClientClass, type GuardedClientClass, readTimeoutMs } from './guarded-client';
import { OpenConnections } from './open-connections';
import { PoolGate } from './pool-gate';
import { type ServerChoice, ServerSelector } from './server-selector';

const POOL_WAIT_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const ERROR_LOG_INTERVAL_MS = 5000;

type ConnectCallback = (
  error: Error | undefined,
  client: pg.PoolClient | undefined,
  done: (error?: Error) => void,
) => void;

/**
 * The PostgreSQL connection pools of the process. TypeORM creates the pool (its documented `driver` option
 * takes the pg module to use): the one it gets has a Pool class that hands each new pool over here, so our
 * own statements share TypeORM's connections, limits and timeouts without reaching into its internals.
 *
 * That Pool class is also where every connection is guarded: its clients survive a lost connection (see
 * `guardedClientClass`), and every checkout, TypeORM's included, passes a `PoolGate` that shares the
 * connections fairly between intents and waits no longer than the turn that asks may wait.
 */
@Injectable()
export class PgPools {
  private readonly logger = new Logger('PostgreSQL');
  private primaryPool?: pg.Pool;
  private gate?: PoolGate;
  private lastErrorLog = 0;
  private recordWait?: (seconds: number, lane: string) => void;
  private countError?: () => void;
  /** Set when DATABASE_URL lists several servers or asks for a kind of server; shared by every connection. */
  readonly servers?: ServerSelector;
  /** Every open connection of the process by server: those to a server found silent are given up together. */
  readonly open = new OpenConnections();
  private chosen?: string;
  /** Told whenever a statement on one of the process's connections has gone unanswered for a while. */
  private lateListener?: () => void;

  constructor(
    @Optional() private readonly config?: AppConfig,
    @Optional() metrics?: Metrics,
  ) {
    const listed = config?.database.servers;
    if (listed) this.servers = new ServerSelector(listed, (choice) => this.serverChosen(choice));
    if (metrics) {
      const waits = metrics.histogram(
        'db_pool_wait_seconds',
        'Time a database checkout waited for a pool connection, by lane (intent, or background)',
        POOL_WAIT_BUCKETS_SECONDS,
      );
      this.recordWait = (seconds, lane) => waits(seconds, { lane });
      const errors = metrics.counter(
        'db_connection_errors_total',
        'PostgreSQL connections lost (terminated, reset, unanswered past the read timeout, or given up with a silent server)',
      );
      this.countError = () => errors();
    }
  }

  /** Pools made without TypeORM (a command-line tool, the medium tests). */
  static of(primary: pg.Pool): PgPools {
    const pools = new PgPools();
    pools.primaryPool = primary;
    return pools;
  }

  /** The pg module for TypeORM's `driver` option. */
  driver(): typeof pg {
    const config = this.config;
    if (!config) throw new Error('PgPools.driver() needs the configuration');
    const { poolSize, poolLaneShare } = config.database;
    const gate = new PoolGate({ size: poolSize, laneShare: poolLaneShare, maxWaitMs: CONNECT_TIMEOUT_MS });
    const Client = this.clientClass(readTimeoutMs(config.database));
    const register = (pool: pg.Pool): void => {
      this.primaryPool = pool;
      this.gate = gate;
    };
    const observeWait = (seconds: number, lane: string): void => this.recordWait?.(seconds, lane);

    class GuardedPool extends pg.Pool {
      private readonly slots = new Map<pg.PoolClient, () => void>();

      constructor(options?: pg.PoolConfig) {
        super({ ...options, Client, keepAlive: true });
        this.on('release', (_error: Error, client: pg.PoolClient) => {
          const free = this.slots.get(client);
          this.slots.delete(client);
          free?.();
        });
        register(this);
      }

      override connect(): Promise<pg.PoolClient>;
      override connect(callback: ConnectCallback): void;
      override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
        const checkout = this.checkout();
        if (!callback) return checkout;
        checkout.then(
          (client) => callback(undefined, client, (error?: Error) => client.release(error)),
          (error: Error) => callback(error, undefined, () => undefined),
        );
      }

      private async checkout(): Promise<pg.PoolClient> {
        const scope = currentWorkScope();
        const lane = scope?.lane ?? BACKGROUND_LANE;
        const started = performance.now();
        // Checkouts that give up are observed too, at the time they gave up: a saturated pool, where most turns
        // wait out their deadline, must not read as short waits made by the few that got in.
        const waited = () => observeWait((performance.now() - started) / 1000, lane);
        let free: () => void;
        try {
          free = await gate.enter(lane, scope?.deadline);
        } catch (error: unknown) {
          waited();
          throw error;
        }
        let client: pg.PoolClient;
        try {
          client = await super.connect();
        } catch (error: unknown) {
          free();
          waited();
          throw raisedWhileConnecting(error);
        }
        waited();
        this.slots.set(client, free);
        return client;
      }
    }
    return { ...pg, Pool: GuardedPool, Client: Client as unknown as typeof pg.Client };
  }

  /**
   * The guarded client class of this process's connections (the pool, pg-boss's pool, the probe, the notification
   * connection): each goes to the chosen server, is registered while open and reports late statements. `onError`
   * replaces the pool's accounting of lost connections for a connection that reports its own.
   */
  clientClass(
    readTimeoutMs: number,
    onError: (error: Error) => void = (error) => this.connectionLost(error),
  ): GuardedClientClass {
    return guardedClientClass({
      readTimeoutMs,
      onError,
      servers: this.servers,
      open: this.open,
      onLate: () => this.lateListener?.(),
    });
  }

  /** `listener` is called whenever a statement has gone unanswered for a while (`LATE_ANSWER_MS`). */
  onStatementLate(listener: () => void): void {
    this.lateListener = listener;
  }

  /**
   * The probe found the path to `server` silent (`why`): every connection to it opened by `since` (when the probe's
   * round trip began; all by default) is given up at once, instead of holding a turn, and the pool, for the read
   * timeout. A statement in flight on one fails as on a lost connection. With several servers listed, the next
   * connection searches again. Logged when it is `news` (the probe's own connection had been answered), not at
   * every retry of an outage.
   */
  serverSilent(server: PostgresServer, why: string, { news, since }: { news: boolean; since?: number }): void {
    const name = serverName(server);
    const givenUp = this.open.giveUp(name, `the probe found ${name} silent (${why})`, since);
    this.servers?.forget(server);
    if (news) this.logger.warn(`The probe found ${name} silent (${why}): ${givenUp} connection(s) to it given up`);
  }

  get primary(): pg.Pool {
    if (!this.primaryPool) throw new Error('the PostgreSQL pool is not created yet (TypeORM has not started)');
    return this.primaryPool;
  }

  get started(): boolean {
    return this.primaryPool !== undefined;
  }

  /** Checkouts waiting at the gate (the pool's own queue stays empty behind it). */
  get waiting(): number {
    return this.gate?.waiting ?? this.primaryPool?.waitingCount ?? 0;
  }

  /** Logged when connections start going to another server than before (and once at start). */
  private serverChosen({ server, passedOver }: ServerChoice): void {
    const name = serverName(server);
    if (name === this.chosen) return;
    const first = this.chosen === undefined;
    this.chosen = name;
    const listed = this.servers?.servers;
    const why = listed ? ` (target_session_attrs=${listed.target}, of ${listed.list.length} listed)` : '';
    const passed = passedOver.length > 0 ? `; passed over: ${passedOver.join('; ')}` : '';
    const message = `${first ? 'Connections go' : 'Connections now go'} to ${name}${why}${passed}`;
    if (first) this.logger.log(message);
    else this.logger.warn(message);
  }

  /** Logged at most every few seconds: a failover ends every connection at once. */
  private connectionLost(error: Error): void {
    this.countError?.();
    const now = Date.now();
    if (now - this.lastErrorLog < ERROR_LOG_INTERVAL_MS) return;
    this.lastErrorLog = now;
    this.logger.warn(`A PostgreSQL connection was lost and is dropped from the pool: ${error.message}`);
  }
}

@Module({ providers: [PgPools], exports: [PgPools] })
export class PgPoolsModule {}
