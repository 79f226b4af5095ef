/** The PostgreSQL server the test run uses (globalSetup sets DATABASE_URL: CI's, or the run's embedded one). */
export const URL_OF_RUN = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');

/** The port the run's server listens on. */
export const RUN_PORT = Number(URL_OF_RUN.port || 5432);

/**
 * The run's user and password as a URL's userinfo: the embedded server asks for a password (scram-sha-256), CI's
 * trusts. Percent-encoded as in a URL.
 */
export const RUN_CREDENTIALS = URL_OF_RUN.password
  ? `${URL_OF_RUN.username}:${URL_OF_RUN.password}`
  : URL_OF_RUN.username;

/** A URL to the run's database at `port` on 127.0.0.1 (a proxy in front of the run's server). */
export function runUrlAt(port: number, credentials = RUN_CREDENTIALS): string {
  return `postgres://${credentials}@127.0.0.1:${port}${URL_OF_RUN.pathname}`;
}
