import { CONNECT_TIMEOUT_MS } from './data-source-options';
import { readTimeoutMs } from './guarded-client';
import { SessionSettingsClient } from './session-settings';

/**
 * An operator command's one connection (the deliveries and console-sessions CLIs): the service's statement timeout,
 * and client-side limits on connecting and on an answer, so a database address that takes the connection and
 * never answers (a stalled pooler) fails the command within seconds instead of leaving it waiting for good.
 */
export function operatorCommandClient(
  url: string,
  database: { readonly statementTimeoutMs: number },
): SessionSettingsClient {
  return new SessionSettingsClient({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: readTimeoutMs(database),
    statement_timeout: database.statementTimeoutMs,
    idle_in_transaction_session_timeout: database.statementTimeoutMs * 4,
  });
}
