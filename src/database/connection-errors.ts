// Socket-level failures and the PostgreSQL codes that mean "the server is gone or refusing connections"
// (class 08 connection exceptions, 57P01-57P03 shutdown / cannot connect now, 53300 too many connections).
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
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const MESSAGES = [
  'Connection terminated',
  'connection terminated',
  'Client has encountered a connection error',
  'Connection ended unexpectedly',
];

/**
 * True when an error means PostgreSQL cannot be reached (as opposed to a bad query or a constraint). Waiting
 * too long for a free pool connection is not one: the pool is busy, the server may be fine.
 */
export function isConnectionError(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth += 1) {
    const { code, message, driverError, cause } = current as {
      code?: unknown;
      message?: unknown;
      driverError?: unknown;
      cause?: unknown;
    };
    if (typeof code === 'string') {
      if (SOCKET_CODES.has(code) || SQLSTATES.has(code)) return true;
      if (/^[0-9A-Z]{5}$/.test(code) && SQLSTATE_CLASSES.includes(code.slice(0, 2))) return true;
    }
    if (typeof message === 'string' && MESSAGES.some((text) => message.includes(text))) return true;
    current = driverError ?? cause;
  }
  return false;
}
