import * as pg from 'pg';
import { type DatabaseServers, type PostgresServer, serverName } from '../config';
import { CONNECT_TIMEOUT_MS } from './data-source-options';

/** Connection failure (SQLSTATE class 08): libpq reports a server that does not suit as one, and so does pg-pools. */
const CONNECTION_FAILURE = '08006';

/** No server of DATABASE_URL's list could be connected to and suited; each one's reason is in the message. */
export class NoSuitableServerError extends Error {
  readonly code = CONNECTION_FAILURE;

  constructor(servers: DatabaseServers, reasons: readonly string[]) {
    const wanted =
      servers.target === 'any' ? 'answers' : servers.target === 'primary' ? 'is a primary' : 'takes writes';
    super(`no server in DATABASE_URL ${wanted} (target_session_attrs=${servers.target}): ${reasons.join('; ')}`);
    this.name = 'NoSuitableServerError';
  }
}

/** A connection that reached a server that no longer suits (it became a standby after it was chosen). */
export class UnsuitableServerError extends Error {
  readonly code = CONNECTION_FAILURE;

  constructor(server: PostgresServer, why: string) {
    super(`${serverName(server)} ${why}`);
    this.name = 'UnsuitableServerError';
  }
}

/** What a search found: the server, and why each one before it was passed over. */
export interface ServerChoice {
  readonly server: PostgresServer;
  readonly passedOver: readonly string[];
}

/** What a probe's server has to answer its one question in, after the connect timeout. */
const PROBE_ANSWER_MS = 2000;

/** pg's own query: the check runs while a connection is being opened, before spans and answer timers apply. */
function rawQuery(client: pg.Client, text: string): Promise<pg.QueryResult> {
  return (pg.Client.prototype.query as (text: string) => Promise<pg.QueryResult>).call(client, text);
}

/**
 * Which of DATABASE_URL's servers new connections go to, when it lists several (a Patroni or CloudNativePG
 * cluster's members, with no address that follows the primary) or asks for a kind of server
 * (`target_session_attrs`). Every listed server is asked, and the first to answer that suits is used (for
 * `read-write` and `primary` there is one). Unlike libpq, which searches for each connection, the one found is kept
 * for every later connection of the process until a connection to it fails, is lost or finds it unsuitable, so a
 * turn does not pay the search.
 */
export class ServerSelector {
  private current?: PostgresServer;
  private searching?: Promise<PostgresServer>;

  constructor(
    readonly servers: DatabaseServers,
    private readonly onChosen: (choice: ServerChoice) => void = () => undefined,
  ) {}

  /** The server to connect to: the one in use, or the first that suits (`options`: the asking client's settings). */
  choose(options: pg.ClientConfig): Promise<PostgresServer> {
    if (this.current) return Promise.resolve(this.current);
    this.searching ??= this.search(options).finally(() => (this.searching = undefined));
    return this.searching;
  }

  /** A connection to `server` failed, was lost or found it unsuitable: the next connection searches again. */
  forget(server: PostgresServer): void {
    if (this.current?.host === server.host && this.current.port === server.port) this.current = undefined;
  }

  /**
   * Fails with `UnsuitableServerError` when the connected `client` (on `server`) does not suit: a server chosen a
   * moment ago can have become a standby since.
   */
  async check(client: pg.Client, server: PostgresServer): Promise<void> {
    const why = await this.unsuitability(client);
    if (why) throw new UnsuitableServerError(server, why);
  }

  /**
   * Asks every listed server at once and takes the first to answer that suits. One after another, as libpq does,
   * a lost host listed before the new primary (its address silent, not refusing) would cost every search its
   * whole connect timeout.
   */
  private search(options: pg.ClientConfig): Promise<PostgresServer> {
    const { stream: _ownStream, ...own } = options;
    const { list } = this.servers;
    const reasons: string[] = [];
    return new Promise((resolve, reject) => {
      let answered = 0;
      let chosen = false;
      list.forEach((server) => {
        void this.probe(own, server).then((why) => {
          answered += 1;
          if (why !== undefined) reasons.push(`${serverName(server)}${why}`);
          else if (!chosen) {
            chosen = true;
            this.current = server;
            this.onChosen({ server, passedOver: [...reasons] });
            resolve(server);
          }
          if (answered === list.length && !chosen) reject(new NoSuitableServerError(this.servers, reasons));
        });
      });
    });
  }

  /**
   * Undefined when `server` answers and suits; else why not (never throws). Bounded: a server that takes the login
   * and then says nothing (a pooler in front of a dead server, a path gone silent) would hold the search, and every
   * connection waiting on it, for as long as TCP takes to give up.
   */
  private async probe(options: pg.ClientConfig, server: PostgresServer): Promise<string | undefined> {
    const client = pointedAt(new pg.Client(options), server);
    // A connection lost before end() is only this probe's concern.
    client.on('error', () => undefined);
    const limitMs = (options.connectionTimeoutMillis ?? CONNECT_TIMEOUT_MS) + PROBE_ANSWER_MS;
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`: did not answer within ${limitMs} ms`), limitMs);
    });
    const asking = (async () => {
      try {
        await client.connect();
        const why = await this.unsuitability(client);
        return why === undefined ? undefined : ` ${why}`;
      } catch (error: unknown) {
        return `: ${reasonOf(error)}`;
      }
    })();
    try {
      return await Promise.race([asking, silent]);
    } finally {
      clearTimeout(timer);
      void client.end().catch(() => undefined);
      // end() waits for the server to close the connection, which a silent one never does.
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    }
  }

  /** Why the server `client` is connected to does not suit, or undefined when it does. */
  private async unsuitability(client: pg.Client): Promise<string | undefined> {
    if (this.servers.target === 'read-write') {
      const { rows } = await rawQuery(client, 'SHOW transaction_read_only');
      const readOnly = (rows[0] as { transaction_read_only?: string } | undefined)?.transaction_read_only;
      return readOnly === 'off' ? undefined : 'takes no writes (a standby, or default_transaction_read_only is on)';
    }
    if (this.servers.target === 'primary') {
      const { rows } = await rawQuery(client, 'SELECT pg_is_in_recovery() AS in_recovery');
      return (rows[0] as { in_recovery?: boolean } | undefined)?.in_recovery === false
        ? undefined
        : 'is a standby (in recovery)';
    }
    return undefined;
  }
}

/**
 * `client`, not yet connected, set to connect to `server`. pg reads the host and port when it connects, and a
 * connection string given to the constructor would win over a host given beside it.
 */
export function pointedAt<C extends pg.Client>(client: C, server: PostgresServer): C {
  client.host = server.host;
  client.port = server.port;
  const parameters = (client as unknown as { connectionParameters?: { host: string; port: number } })
    .connectionParameters;
  if (parameters) {
    parameters.host = server.host;
    parameters.port = server.port;
  }
  return client;
}

function reasonOf(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' && message !== '' ? message : String(error);
  return typeof code === 'string' && !text.includes(code) ? `${code} ${text}` : text;
}
