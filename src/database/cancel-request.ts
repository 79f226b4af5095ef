import type { EventEmitter } from 'node:events';
import { Client } from 'pg';

/** The longest a cancel request may take to be delivered before the connection is given back all the same. */
const CANCEL_DELIVERY_MS = 2000;

/**
 * Cancels the statement running on `client` the way PostgreSQL's own clients do: a CancelRequest with the
 * connection's key, on a short connection of its own. Not `SELECT pg_cancel_backend(pid)` on a pooled connection:
 * that needed a pool slot, and a full pool (the very time statements run long) gave it none, so the abandoned
 * statement ran on holding its connection; and behind PgBouncer the key's process id is PgBouncer's own, not a
 * server backend's (PgBouncer forwards a CancelRequest to the right one). A request that arrives once the statement
 * has finished finds the session idle, and PostgreSQL ignores it. Resolves once the request is delivered (the
 * server closes that connection), or after 2 s.
 */
export function sendCancelRequest(client: Client): Promise<void> {
  const target = client as unknown as {
    processID?: number;
    secretKey?: number;
    host?: string;
    port?: number;
    connectionParameters?: Record<string, unknown>;
  };
  const { processID, secretKey, host, port } = target;
  if (processID === undefined || secretKey === undefined || host === undefined || port === undefined) {
    return Promise.resolve();
  }
  const canceller = new Client({ ...target.connectionParameters, host, port });
  const connection = (canceller as unknown as { connection: CancelConnection }).connection;
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, CANCEL_DELIVERY_MS);
    timer.unref();
    function done(): void {
      clearTimeout(timer);
      connection.stream?.destroy();
      resolve();
    }
    connection.once('end', done);
    connection.on('error', () => undefined);
    connection.once('connect', () => connection.cancel(processID, secretKey));
    // A Unix socket directory, as pg names it, or a TCP address.
    if (host.startsWith('/')) connection.connect(`${host}/.s.PGSQL.${port}`);
    else connection.connect(port, host);
  });
}

/** The part of pg's protocol connection a cancel request uses. */
interface CancelConnection extends EventEmitter {
  readonly stream?: { destroy(): void };
  connect(port: number | string, host?: string): void;
  cancel(processID: number, secretKey: number): void;
}
