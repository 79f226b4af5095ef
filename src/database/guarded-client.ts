import { Socket } from 'node:net';
import * as pg from 'pg';
import { startNoAnswerTimer } from '../common/no-answer-timer';
import { tracedQuery } from './query-span';
import { SessionSettingsClient } from './session-settings';

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
}

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
  class Guarded extends SessionSettingsClient implements GuardedClient {
    private readonly socket?: Socket;

    constructor(config?: string | pg.ClientConfig) {
      const options: pg.ClientConfig = typeof config === 'string' ? { connectionString: config } : { ...config };
      let socket: Socket | undefined;
      // pg calls the stream factory while constructing its connection, so the socket is known after super().
      options.stream ??= () => (socket = new Socket());
      super(options);
      this.socket = socket;
      this.on('error', (error: Error) => guard.onError(error));
    }

    // pg's overloads (promise, callback, submittable) are kept as they are; the answer is watched and traced.
    override query(...args: unknown[]): never {
      return tracedQuery(
        this,
        args,
        (values) => (super.query as (...v: unknown[]) => unknown)(...values),
        this.watch(),
      ) as never;
    }

    destroy(): void {
      this.socket?.destroy();
    }

    private watch(): () => void {
      const socket = this.socket;
      if (!socket) return () => undefined;
      return startNoAnswerTimer(guard.readTimeoutMs, () => socket.destroy(new NoAnswerError(guard.readTimeoutMs)));
    }
  }
  return Guarded;
}
