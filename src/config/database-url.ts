import { ConnectionUrlError, readServer, readServerUrl, splitAuthority } from './connection-url';

/** One server of a DATABASE_URL that lists several (libpq's multi-host syntax). */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
}

/**
 * What a server must be to get the service's connections (libpq's `target_session_attrs`, the values that suit a
 * service that writes): `read-write` takes writes (`SHOW transaction_read_only` is off), `primary` is not in
 * recovery, `any` is the first that answers.
 */
export type ServerTarget = 'any' | 'read-write' | 'primary';

/** The servers of a DATABASE_URL that lists more than one, or says which kind of server it wants. */
export interface DatabaseServers {
  readonly list: readonly PostgresServer[];
  readonly target: ServerTarget;
  /** DATABASE_URL around its host list, without `target_session_attrs`: `before` + one server + `after`. */
  readonly around: { readonly before: string; readonly after: string };
}

export interface ParsedDatabaseUrl {
  /** A URL with one server (the first listed) that pg and TypeORM can read. */
  readonly url: string;
  /** Set when DATABASE_URL lists several servers or sets `target_session_attrs`. */
  readonly servers?: DatabaseServers;
}

export const DEFAULT_POSTGRES_PORT = 5432;

const TARGETS: readonly ServerTarget[] = ['any', 'read-write', 'primary'];
/** libpq's values for a session that may not write: for reads, which DATABASE_REPLICA_URLS is for. */
const READ_TARGETS = ['read-only', 'standby', 'prefer-standby'];
const TARGET_PARAMETER = 'target_session_attrs';
const SCHEME = /^postgres(?:ql)?:\/\//;

/**
 * Reads a DATABASE_URL as libpq does where pg does not: several servers (`postgres://user@db-0:5432,db-1:5432/app`),
 * and `target_session_attrs` (`?target_session_attrs=read-write`). Everything else stays in the URL for pg, which is
 * read here as pg and TypeORM will read it (`readServerUrl`), so that a URL they would fail on stops start-up.
 */
export function parseDatabaseUrl(url: string): ParsedDatabaseUrl {
  const scheme = SCHEME.exec(url)?.[0];
  if (!scheme) throw new ConnectionUrlError('must be a postgres:// or postgresql:// URL');
  const { credentials, hosts: hostList, tail } = splitAuthority(url);
  const { kept, target } = takeTarget(tail);
  const before = scheme + credentials;
  if (!hostList.includes(',') && target === 'any') {
    const single = before + hostList + kept;
    readServerUrl(single);
    return { url: single };
  }
  const list = hostList.split(',').map((text, index) => parseServer(text, index));
  const servers = { list, target, around: { before, after: kept } };
  for (const server of list) readServerUrl(serverUrl(servers, server));
  return { url: serverUrl(servers, list[0]), servers };
}

/** The URL of one of the listed servers. */
export function serverUrl(servers: DatabaseServers, { host, port }: PostgresServer): string {
  const inUrl = host.includes(':') ? `[${host}]` : encodeURIComponent(host);
  return `${servers.around.before}${inUrl}:${port}${servers.around.after}`;
}

/** `host:port`, IPv6 in brackets. */
export function serverName({ host, port }: PostgresServer): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** One server of the list, with the default port when it names none. */
function parseServer(text: string, index: number): PostgresServer {
  if (text === '') throw new ConnectionUrlError('lists an empty server (two commas in a row, or one at an end)');
  const { host, port } = readServer(text, `server ${index + 1} of the list`);
  return { host: decoded(host), port: port ?? DEFAULT_POSTGRES_PORT };
}

/** The URL's path, query and fragment without `target_session_attrs`, and that setting. */
function takeTarget(tail: string): { kept: string; target: ServerTarget } {
  const fragmentAt = tail.indexOf('#');
  const beforeFragment = fragmentAt < 0 ? tail : tail.slice(0, fragmentAt);
  const fragment = fragmentAt < 0 ? '' : tail.slice(fragmentAt);
  const queryAt = beforeFragment.indexOf('?');
  if (queryAt < 0) return { kept: tail, target: 'any' };
  let target: ServerTarget = 'any';
  const pairs = beforeFragment
    .slice(queryAt + 1)
    .split('&')
    .filter((pair) => {
      const equals = pair.indexOf('=');
      if (decoded(equals < 0 ? pair : pair.slice(0, equals)) !== TARGET_PARAMETER) return true;
      target = readTarget(decoded(equals < 0 ? '' : pair.slice(equals + 1)));
      return false;
    });
  const query = pairs.length > 0 ? `?${pairs.join('&')}` : '';
  return { kept: beforeFragment.slice(0, queryAt) + query + fragment, target };
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function readTarget(value: string): ServerTarget {
  if ((TARGETS as readonly string[]).includes(value)) return value as ServerTarget;
  if (READ_TARGETS.includes(value)) {
    throw new ConnectionUrlError(
      `${TARGET_PARAMETER}=${value} cannot be used: the service writes, so its connections need read-write or ` +
        'primary (servers for reads go in DATABASE_REPLICA_URLS)',
    );
  }
  throw new ConnectionUrlError(
    `${TARGET_PARAMETER} must be one of ${TARGETS.join(', ')} (got ${JSON.stringify(value)})`,
  );
}
