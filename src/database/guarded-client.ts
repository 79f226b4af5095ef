import { Socket } from 'node:net';
import * as pg from 'pg';
import { startNoAnswerTimer } from '../common/no-answer-timer';
import { type PostgresServer, serverName } from '../config';
import { isReadOnlyError } from './connection-errors';
import type { OpenConnections } from './open-connections';
import { tracedQuery } from './query-span';
import { pointedAt, type ServerSelector } from './server-selector';
import { type ConnectCallback, SessionSettingsClient, withoutSessionSettings } from './session-settings';
import { isUnconfirmedCommit, type Notice, UnconfirmedCommitError } from './unconfirmed-commit';

export interface ClientGuard {
  /**
   * Longest wait for PostgreSQL to answer a query. Past it the path is taken for dead (a black hole, a
   * failed-over primary whose old connections never answer): the socket is destroyed, the query fails with
   * a connection error and the pool drops the client. Must be longer than `statement_timeout`, which makes
   * a live server answer (with an error) first.
   */
  readonly readTimeoutMs: number;
  /** Every error the client emits (a lost connection); the client is unusable afterwards. */
  readonly onError: (error: Error) => void;
  /** Which server to connect to, when DATABASE_URL lists several or asks for a kind of server. */
  readonly servers?: ServerSelector;
  /** Where each connection is registered by server while open, so that all to one server can be given up. */
  readonly open?: OpenConnections;
  /**
   * Called when a statement has gone `LATE_ANSWER_MS` without an answer: long before the read timeout, the
   * probe can then find out whether the path went silent for every connection.
   */
  readonly onLate?: () => void;
}

/** How long past `statement_timeout` a query may go unanswered before its connection is given up. */
const READ_TIMEOUT_MARGIN_MS = 2000;

/** How long a query may go unanswered before its connection is given up (a lost path sends nothing). */
export function readTimeoutMs(database: { readonly statementTimeoutMs: number }): number {
  return database.statementTimeoutMs + READ_TIMEOUT_MARGIN_MS;
}

/** How long a statement goes unanswered before `ClientGuard.onLate` is told. */
export const LATE_ANSWER_MS = 1000;

/** A query answered by neither a result nor an error in time: the network path or the server is gone. */
export class NoAnswerError extends Error {
  readonly code = 'ETIMEDOUT';

  constructor(readTimeoutMs: number) {
    super(`PostgreSQL did not answer within ${readTimeoutMs} ms; the connection is dropped`);
    this.name = 'NoAnswerError';
  }
}

/** A pg client that can also be ended without the server's goodbye (a dead path never sends it). */
export interface GuardedClient extends pg.Client {
  destroy(): void;
  /** Ends the connection now with `error`: what it is answering (or opening) fails with it. */
  abandon(error: Error): void;
  /** Whether its TCP connection was ever established (something at the address took it). */
  readonly reachedServer: boolean;
  /**
   * Waits up to `ms` for each answer from now on, instead of the guard's read timeout: for the connection that runs
   * the migrations, whose statements have a longer `statement_timeout` than a turn's (it is closed afterwards).
   */
  waitForAnswersUpTo(ms: number): void;
}

export type GuardedClientClass = new (config?: string | pg.ClientConfig) => GuardedClient;

/**
 * The pg `Client` class the service's pools use (pg-pool's documented `Client` option). A client that loses
 * its connection emits `'error'`; without a listener that kills the process, and pg-pool listens only while
 * the client is idle in the pool. This class always listens, so a connection lost while checked out (a
 * failover, `pg_terminate_backend`, a restart) fails its queries instead; and it owns its socket, so a query
 * that gets no answer at all can be ended.
 */
export function guardedClientClass(guard: ClientGuard): GuardedClientClass {
  // A timeout that is not a positive number (a configuration missing its statement timeout) would end every query.
  if (!(guard.readTimeoutMs > 0))
    throw new Error(`readTimeoutMs must be a positive number (got ${guard.readTimeoutMs})`);
  const late = guard.onLate && { afterMs: LATE_ANSWER_MS, onLate: guard.onLate };
  class Guarded extends SessionSettingsClient implements GuardedClient {
    private readonly socket?: Socket;
    /** The settings a server search connects with (this client's, on another connection). */
    private readonly searchOptions: pg.ClientConfig;
    /** The server this client connected to, when a selector chose it. */
    private server?: PostgresServer;
    reachedServer = false;
    /** A notice that the statement being answered committed without its synchronous standbys' confirmation. */
    private unconfirmed?: UnconfirmedCommitError;
    private readTimeoutMs = guard.readTimeoutMs;

    constructor(config?: string | pg.ClientConfig) {
      const options: pg.ClientConfig = typeof config === 'string' ? { connectionString: config } : { ...config };
      const searchOptions = withoutSessionSettings(options);
      let socket: Socket | undefined;
      // pg calls the stream factory while constructing its connection, so the socket is known after super().
      options.stream ??= () => (socket = new Socket());
      super(options);
      this.socket = socket;
      socket?.once('connect', () => (this.reachedServer = true));
      this.searchOptions = searchOptions;
      this.on('error', (error: Error) => {
        // The server may be gone (a failover): the next connection makes sure of the one it goes to.
        this.forgetServer();
        guard.onError(error);
      });
      this.on('notice', (notice: Notice) => {
        if (isUnconfirmedCommit(notice)) this.unconfirmed = new UnconfirmedCommitError(notice);
      });
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: ConnectCallback): void;
    override connect(callback?: ConnectCallback): Promise<pg.Client> | void {
      const connected = this.connectToServer();
      if (!callback) return connected;
      connected.then(() => callback(), callback);
    }

    /** Connects to the server the selector names (when there is one), and makes sure it still suits. */
    private async connectToServer(): Promise<pg.Client> {
      const selector = guard.servers;
      if (!selector) {
        this.register();
        return super.connect();
      }
      const server = await selector.choose(this.searchOptions);
      pointedAt(this, server);
      this.server = server;
      this.register();
      try {
        await super.connect();
      } catch (error: unknown) {
        selector.forget(server);
        throw error;
      }
      try {
        await selector.check(this, server);
      } catch (error: unknown) {
        selector.forget(server);
        this.end().catch(() => undefined);
        throw error;
      }
      return this;
    }

    /** Registered by server until pg's 'end' (which follows every close), so that a verdict on it reaches this. */
    private register(): void {
      const open = guard.open;
      if (!open) return;
      const server = serverName({ host: this.host, port: this.port });
      open.add(server, this);
      this.once('end', () => open.delete(server, this));
    }

    /** Ends the connection now with `error`: what it is answering (or opening) fails with it. */
    abandon(error: Error): void {
      this.socket?.destroy(error);
    }

    private forgetServer(): void {
      if (this.server) guard.servers?.forget(this.server);
    }

    // pg's overloads (promise, callback, submittable) are kept as they are; the answer is watched and traced.
    override query(...args: unknown[]): never {
      return tracedQuery(this, args, (values) => this.confirmed(values), this.watch()) as never;
    }

    /**
     * pg's query, failing a statement that came with a notice of an unconfirmed commit. pg answers one statement
     * at a time, in order, and a notice comes before the end of the statement it belongs to: the next statement
     * to be answered after the notice is that one.
     */
    private confirmed(args: unknown[]): unknown {
      const run = (values: unknown[]): unknown => (super.query as (...v: unknown[]) => unknown).apply(this, values);
      const last = args.length - 1;
      const callback = args[last];
      if (typeof callback === 'function') {
        args[last] = (error: Error | null, result: unknown): void => {
          const unconfirmed = this.takeUnconfirmed();
          if (isReadOnlyError(error)) this.forgetServer();
          (callback as (error: Error | null, result: unknown) => void)(error ?? unconfirmed ?? null, result);
        };
        return run(args);
      }
      const result = run(args);
      if (!(result instanceof Promise)) return result;
      return result.then(
        (value: unknown) => {
          const unconfirmed = this.takeUnconfirmed();
          if (unconfirmed) throw unconfirmed;
          return value;
        },
        (error: unknown) => {
          this.takeUnconfirmed();
          if (isReadOnlyError(error)) this.forgetServer();
          throw error;
        },
      );
    }

    private takeUnconfirmed(): UnconfirmedCommitError | undefined {
      const unconfirmed = this.unconfirmed;
      this.unconfirmed = undefined;
      return unconfirmed;
    }

    destroy(): void {
      this.socket?.destroy();
    }

    waitForAnswersUpTo(ms: number): void {
      if (!(ms > 0)) throw new Error(`ms must be a positive number (got ${ms})`);
      this.readTimeoutMs = ms;
    }

    private watch(): () => void {
      const socket = this.socket;
      if (!socket) return () => undefined;
      const readTimeoutMs = this.readTimeoutMs;
      return startNoAnswerTimer(readTimeoutMs, () => socket.destroy(new NoAnswerError(readTimeoutMs)), late);
    }
  }
  return Guarded;
}
