import { ConnectionUrlError, readServerUrl } from './connection-url';
import { parseDatabaseUrl } from './database-url';
import type { Environment } from './environment';

const DATABASE_NUMBER = /^\d+$/;

/**
 * Reads a REDIS_URL as ioredis will: its database number (the path, or a `db` parameter) must be a non-negative
 * integer, which ioredis sends to SELECT as it is (`/x` failed every connection with an unhandled rejection).
 */
export function readRedisUrl(url: string): URL {
  const parsed = readServerUrl(url);
  const path = parsed.pathname.replace(/^\//, '');
  const parameter = parsed.searchParams.get('db');
  if ((path !== '' && !DATABASE_NUMBER.test(path)) || (parameter !== null && !DATABASE_NUMBER.test(parameter))) {
    throw new ConnectionUrlError(
      'the database number (the path after the host, e.g. redis://host:6379/0) must be a non-negative integer',
    );
  }
  return parsed;
}

/** The refusal of a URL, or of one URL of a list, as a problem line; rethrows anything that is not a refusal. */
function problemOf(variable: string, read: () => unknown, which?: string): string[] {
  try {
    read();
    return [];
  } catch (error: unknown) {
    if (!(error instanceof ConnectionUrlError)) throw error;
    return [`${variable}: ${which ? `${which}: ` : ''}${error.message}`];
  }
}

/**
 * DATABASE_URL, each of DATABASE_REPLICA_URLS and REDIS_URL read in full as their drivers will, and the Sentinels'
 * ports: a URL that only starts right (checked by the Environment) otherwise failed at the first connection with
 * the driver's message ("Invalid URL", "URI malformed") or none. `invalid`: variables refused already.
 */
export function connectionUrlProblems(env: Environment, invalid: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  // A variable its pattern refused has been told of already.
  const toRead = (variable: keyof Environment): string | undefined =>
    invalid.has(variable) ? undefined : (env[variable] as string | undefined);
  const primary = toRead('DATABASE_URL');
  if (primary) problems.push(...problemOf('DATABASE_URL', () => parseDatabaseUrl(primary)));
  const replicas = toRead('DATABASE_REPLICA_URLS');
  replicaUrls(replicas).forEach((url, index, all) => {
    const which = all.length > 1 ? `URL ${index + 1} of the list` : undefined;
    problems.push(...problemOf('DATABASE_REPLICA_URLS', () => readServerUrl(url), which));
  });
  const redis = toRead('REDIS_URL');
  if (redis) problems.push(...problemOf('REDIS_URL', () => readRedisUrl(redis)));
  const sentinels = toRead('REDIS_SENTINELS');
  sentinels?.split(',').forEach((address, index) => {
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    if (port < 1 || port > 65_535) {
      problems.push(`REDIS_SENTINELS: the port of ${address} (Sentinel ${index + 1}) is not a port number (1-65535)`);
    }
  });
  return problems;
}

/** DATABASE_REPLICA_URLS as a list: comma-separated, each trimmed. */
export function replicaUrls(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);
}
