// Socket-level failures and the PostgreSQL codes that mean "the server is gone or refusing connections"
// (class 08 connection exceptions, 57P01-57P03 shutdown / cannot connect now, 57P05 a session ended for being idle,
// 53300 too many connections).
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const SQLSTATE_CLASSES = ['08'];
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '57P05', '53300']);
const MESSAGES = [
  'Connection terminated',
  'connection terminated',
  'Client has encountered a connection error',
  'Connection ended unexpectedly',
];

/** 25006 read_only_sql_transaction: a write (or SELECT … FOR UPDATE) on a server that takes none. */
const READ_ONLY_SQLSTATE = '25006';

type ErrorLink = { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };

/** The first of `error` and the errors it wraps (TypeORM's driverError, a cause), a few levels deep, that `pick` maps. */
function firstIn<T>(error: unknown, pick: (link: ErrorLink) => T | undefined): T | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth += 1) {
    const link = current as ErrorLink;
    const picked = pick(link);
    if (picked !== undefined) return picked;
    current = link.driverError ?? link.cause;
  }
  return undefined;
}

/** Whether `error` or an error it wraps passes `test`. */
function somewhereIn(error: unknown, test: (link: ErrorLink) => boolean): boolean {
  return firstIn(error, (link) => (test(link) ? true : undefined)) ?? false;
}

const OPENING_A_CONNECTION = Symbol('raised while opening a connection');
const BEFORE_COMMIT = Symbol('raised in a transaction before its COMMIT was sent');

/**
 * Marks an error raised in an explicit transaction before its COMMIT was sent (DatabasePool.transaction): whatever
 * it wrote was rolled back, by the server when the connection was lost, so it is no unconfirmed write.
 */
export function raisedBeforeCommit<T>(error: T): T {
  if (error && typeof error === 'object' && Object.isExtensible(error) && !(BEFORE_COMMIT in error)) {
    Object.defineProperty(error, BEFORE_COMMIT, { value: true });
  }
  return error;
}

/**
 * Marks an error raised while opening a connection (pg-pools.ts). Whatever its code, the server could not be
 * reached by this service: a login refused (28000, 28P01: credentials revoked or rotated under it), the database
 * gone (3D000) or closed to connections (55000), the CONNECT privilege revoked (42501). The same codes from a
 * statement mean something else (42501 on a table is a grant missing), so it is where they come from that counts.
 */
export function raisedWhileConnecting<T>(error: T): T {
  if (error && typeof error === 'object') Object.defineProperty(error, OPENING_A_CONNECTION, { value: true });
  return error;
}

/**
 * True when an error means PostgreSQL cannot be reached (as opposed to a bad query or a constraint). Waiting
 * too long for a free pool connection is not one: the pool is busy, the server may be fine.
 */
export function isConnectionError(error: unknown): boolean {
  return somewhereIn(error, (link) => {
    if ((link as Record<symbol, unknown>)[OPENING_A_CONNECTION] === true) return true;
    const { code, message } = link;
    if (typeof code === 'string') {
      if (SOCKET_CODES.has(code) || SQLSTATES.has(code)) return true;
      if (/^[0-9A-Z]{5}$/.test(code) && SQLSTATE_CLASSES.includes(code.slice(0, 2))) return true;
    }
    return typeof message === 'string' && MESSAGES.some((text) => message.includes(text));
  });
}

/** Socket failures that mean nobody answers at the server's address: no route, nobody listening, or silence. */
const SILENT_PATH_CODES = new Set(['ETIMEDOUT', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * True when `error` says the path to the server is silent, so every connection on it is as dead as the one that
 * met it: no answer in time (a lost host, a failed-over primary, a black-holed address), no route, or nobody
 * listening. Not a server that answers to refuse (a login, too many connections, shutting down): its other
 * connections are fine, or end by themselves. pg's connect timeout ('timeout expired') carries no code.
 */
export function isSilentPath(error: unknown): boolean {
  return somewhereIn(
    error,
    ({ code, message }) => (typeof code === 'string' && SILENT_PATH_CODES.has(code)) || message === 'timeout expired',
  );
}

/**
 * True when the server refused a write because it takes none: a hot standby (what a connection may still reach
 * after a failover moved the primary elsewhere), or a primary set read-only (`default_transaction_read_only`, as
 * some managed services do when storage runs out). Reads on it still work.
 */
export function isReadOnlyError(error: unknown): boolean {
  return somewhereIn(error, ({ code }) => code === READ_ONLY_SQLSTATE);
}

/** Why turns are answered degraded while the probe says PostgreSQL is down. */
export const UNREACHABLE = 'PostgreSQL is unreachable';

/**
 * Why a turn gets the degraded or busy reply instead of its answer: `degraded` when the database cannot serve
 * it now (unreachable, or it cannot write: a standby, a full disk, no memory, failing storage), `busy` when the
 * turn lost to other work (no pool connection in time, a lock held past `statement_timeout` or `lock_timeout`,
 * a concurrent transaction that conflicted with it). Either way nothing of the turn was kept, so a retry runs it;
 * or, for a commit its synchronous standby did not confirm (`UnconfirmedCommitError`), nothing of it was confirmed:
 * what it wrote is on the primary only, and the turn's unique keys make the retry carry it out once.
 */
export interface Unavailable {
  outcome: 'degraded' | 'busy';
  why: string;
}

/** Refusals by a reachable server for a passing reason, never for anything in the turn itself. */
const REFUSALS: ReadonlyMap<string, Unavailable> = new Map<string, Unavailable>([
  [READ_ONLY_SQLSTATE, { outcome: 'degraded', why: 'PostgreSQL takes no writes (a standby, or set read-only)' }],
  ['53000', { outcome: 'degraded', why: 'PostgreSQL is short of resources' }],
  ['53100', { outcome: 'degraded', why: 'PostgreSQL is out of disk space' }],
  ['53200', { outcome: 'degraded', why: 'PostgreSQL is out of memory' }],
  ['58030', { outcome: 'degraded', why: 'PostgreSQL cannot read or write its files' }],
  [
    'COMMIT_NOT_REPLICATED',
    {
      outcome: 'degraded',
      why: 'PostgreSQL could not confirm a commit on its synchronous standby (the wait was cancelled)',
    },
  ],
  ['57014', { outcome: 'busy', why: 'PostgreSQL cancelled a statement (statement_timeout, or an operator)' }],
  ['55P03', { outcome: 'busy', why: 'a lock held elsewhere was not released in time' }],
  ['40001', { outcome: 'busy', why: 'a concurrent transaction conflicted with it' }],
  ['40P01', { outcome: 'busy', why: 'a concurrent transaction deadlocked with it' }],
]);

/**
 * The refusal `error` (or an error it wraps) is, with the server's code and message appended; undefined for any
 * other error. A statement cancelled by the turn's own deadline never gets here: the pool reports the deadline.
 */
export function serverRefusal(error: unknown): Unavailable | undefined {
  return firstIn(error, ({ code, message }) => {
    const refusal = typeof code === 'string' ? REFUSALS.get(code) : undefined;
    return refusal && { outcome: refusal.outcome, why: `${refusal.why}: ${code as string} ${String(message)}` };
  });
}

/**
 * Why `error` will pass (a refusal for a passing reason, or the server out of reach), undefined for an error of the
 * statement's own. The same judgement as `DatabaseAvailability.report`, without its probe: for log lines.
 */
export function passingDatabaseFailure(error: unknown): string | undefined {
  return serverRefusal(error)?.why ?? (isConnectionError(error) ? UNREACHABLE : undefined);
}

/** Failures that say a statement never reached a server: nothing it would have written can have committed. */
const NOTHING_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '53300',
  '57P03',
]);

/**
 * True when the statement that met `error` may have committed what it wrote although it failed: a commit its
 * synchronous standby did not confirm, or a connection lost (or given up) while a statement was on it: the
 * server may have committed before the answer was lost. Not a failure to open a connection, where nothing ran.
 */
export function mayHaveCommitted(error: unknown): boolean {
  if (somewhereIn(error, ({ code }) => code === 'COMMIT_NOT_REPLICATED')) return true;
  if (somewhereIn(error, (link) => (link as Record<symbol, unknown>)[BEFORE_COMMIT] === true)) return false;
  if (!isConnectionError(error)) return false;
  return !somewhereIn(
    error,
    (link) =>
      (link as Record<symbol, unknown>)[OPENING_A_CONNECTION] === true ||
      (typeof link.code === 'string' && NOTHING_SENT_CODES.has(link.code)),
  );
}

/**
 * True when a statement prepared on the connection no longer fits the schema: a migration changed the type of a
 * column it returns (0A000 "cached plan must not change result type", raised before the statement runs). The
 * connection keeps refusing it for as long as it lives; a new connection prepares it afresh.
 */
export function isStalePlan(error: unknown): boolean {
  return somewhereIn(
    error,
    ({ code, message, routine }: ErrorLink & { routine?: unknown }) =>
      code === '0A000' &&
      (routine === 'RevalidateCachedQuery' ||
        (typeof message === 'string' && message.includes('cached plan must not change result type'))),
  );
}

/**
 * True when the connection that met `error` is of no more use: its server is gone, or takes no writes, or its
 * prepared statements no longer fit the schema. It is destroyed instead of going back to the pool, so the next
 * connection is a new one, which reaches whatever server the address names now (after a failover, the new
 * primary), takes the server's current settings and prepares its statements against the current schema.
 */
export function isUnusableConnection(error: unknown): boolean {
  return isConnectionError(error) || isReadOnlyError(error) || isStalePlan(error);
}
