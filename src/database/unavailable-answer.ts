import { AppError } from '../common/errors/app-error';
import type { ErrorTranslator } from '../common/http/http-error.filter';
import type { DatabaseAvailability } from './database-availability';
import { PoolWaitTimeoutError } from './pool-gate';

/** How long a client is asked to wait before retrying what the database could not serve. */
const RETRY_AFTER_SECONDS = '5';

/** 503 UNAVAILABLE with Retry-After: a request the database could not serve now, which a retry may. */
export function unavailableAnswer(): AppError {
  return new AppError('UNAVAILABLE', 'The service is temporarily unavailable; retry shortly.', [], {
    'Retry-After': RETRY_AFTER_SECONDS,
  });
}

/** 503 OVERLOADED with Retry-After: no connection of the replica's pool came free in time. */
function overloadedAnswer(): AppError {
  return new AppError('OVERLOADED', 'The service is too busy to answer in time; retry shortly.', [], {
    'Retry-After': '1',
  });
}

/**
 * For the HTTP error filters: a request outside a turn (polling a fulfillment, the console's API) that met the
 * database unreachable, or refusing for a passing reason, or no connection free in the replica's pool, gets 503 and
 * Retry-After instead of 500 INTERNAL with a stack trace in the log; a connection error also makes the probe check at once, as it does for turns.
 */
export function databaseErrorTranslator(availability: DatabaseAvailability): ErrorTranslator {
  return (exception) => {
    // The database is fine, this replica's connections are all taken: another replica, or a moment later, serves it.
    if (exception instanceof PoolWaitTimeoutError) return { answer: overloadedAnswer(), why: exception.message };
    const unavailable = availability.report(exception);
    return unavailable && { answer: unavailableAnswer(), why: unavailable.why };
  };
}
