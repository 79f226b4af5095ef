/** A connection URL (DATABASE_URL, DATABASE_REPLICA_URLS, REDIS_URL) the drivers would fail on, or read otherwise. */
export class ConnectionUrlError extends Error {}

/**
 * Said with every refusal of a URL's shape: an unencoded reserved character in the user name or password (the usual
 * cause) moves where the parser finds the host, port and path.
 */
export const PERCENT_ENCODE_HINT =
  'a password (or user name) holding any of @ : / ? # % or a space must be percent-encoded (e.g. / as %2F, # as %23, % as %25)';

const BRACKETED = /^\[([0-9A-Fa-f:.]+)\](?::(\d*))?$/;
const PLAIN = /^([^:[\]/\s]+)(?::(\d*))?$/;
/** A `%` that does not start a percent-escape (`%` and two hex digits). */
const BARE_PERCENT = /%(?![0-9A-Fa-f]{2})/;

export interface WrittenServer {
  /** As written: percent-encoded, an IPv6 address without its brackets. */
  readonly host: string;
  readonly port?: number;
}

/**
 * One `host[:port]` of a URL's authority, as written. `which` names it in a refusal ("server 2 of the list"; unset:
 * the URL's only one). Its text is never echoed: where a password holding an unencoded `/`, `?` or `#` ended the
 * authority early, what reads as a host or port is part of the password.
 */
export function readServer(text: string, which?: string): WrittenServer {
  const match = BRACKETED.exec(text) ?? PLAIN.exec(text);
  if (!match) {
    throw new ConnectionUrlError(
      `cannot read ${which ?? 'the host and port'} (host:port, an IPv6 address in brackets); ${PERCENT_ENCODE_HINT}`,
    );
  }
  if (match[2] === undefined || match[2] === '') return { host: match[1] };
  const port = Number(match[2]);
  if (!(port >= 1 && port <= 65_535)) {
    const whose = which ? `the port of ${which}` : 'the port';
    throw new ConnectionUrlError(`${whose} is not a port number (1-65535); ${PERCENT_ENCODE_HINT}`);
  }
  return { host: match[1], port };
}

/** A `scheme://…` URL's authority, as its user info with the `@` (or nothing) and its hosts, and what follows. */
export function splitAuthority(url: string): { credentials: string; hosts: string; tail: string } {
  const rest = url.slice(url.indexOf('://') + 3);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const at = authority.lastIndexOf('@');
  return {
    credentials: authority.slice(0, at + 1),
    hosts: authority.slice(at + 1),
    tail: authorityEnd < 0 ? '' : rest.slice(authorityEnd),
  };
}

/**
 * Reads a URL with one server as the drivers do (the WHATWG URL parser, then percent-decoding of the user name,
 * password and path), refusing what they would fail on at the first connection, or read otherwise than meant: a port
 * out of range, an `@` after the host (a password's unencoded `/`, `?` or `#` ended the authority early), a `%` that
 * starts no escape. Nothing of the URL is echoed.
 */
export function readServerUrl(url: string): URL {
  const { hosts, tail } = splitAuthority(url);
  if (hosts !== '') readServer(hosts);
  const path = tail.split(/[?#]/)[0];
  const fragment = tail.includes('#') ? tail.slice(tail.indexOf('#')) : '';
  const query = tail.slice(path.length, tail.length - fragment.length);
  const parameterNames = query
    .slice(1)
    .split('&')
    .map((pair) => pair.split('=')[0]);
  if (path.includes('@') || fragment.includes('@') || parameterNames.some((name) => name.includes('@'))) {
    throw new ConnectionUrlError(`has an @ after the host, so the password ends early; ${PERCENT_ENCODE_HINT}`);
  }
  if (BARE_PERCENT.test(url)) {
    throw new ConnectionUrlError(`holds a % that starts no percent-escape; ${PERCENT_ENCODE_HINT}`);
  }
  try {
    const parsed = new URL(url);
    decodeURIComponent(parsed.username);
    decodeURIComponent(parsed.password);
    decodeURI(parsed.pathname);
    return parsed;
  } catch {
    throw new ConnectionUrlError(`cannot be read as a URL; ${PERCENT_ENCODE_HINT}`);
  }
}
