import { AppError } from '../common/errors/app-error';
import type { DatabaseAvailability } from './database-availability';
import { PoolWaitTimeoutError } from './pool-gate';
import { databaseErrorTranslator } from './unavailable-answer';

describe('databaseErrorTranslator', () => {
  const reachable = { report: () => undefined } as unknown as DatabaseAvailability;
  const translate = databaseErrorTranslator(reachable);

  it('answers a request that found no free connection in the pool 503 OVERLOADED with Retry-After, not 500', () => {
    const translated = translate(new PoolWaitTimeoutError('background', 5000));
    expect(translated?.answer).toBeInstanceOf(AppError);
    expect(translated?.answer.code).toBe('OVERLOADED');
    expect(translated?.answer.headers).toEqual({ 'Retry-After': '1' });
    expect(translated?.why).toBe('no PostgreSQL connection free for "background" within 5000 ms (the pool is busy)');
  });

  it('answers 503 UNAVAILABLE what the database reports unavailable, and leaves any other error alone', () => {
    const down = { report: () => ({ outcome: 'degraded', why: 'unreachable' }) } as unknown as DatabaseAvailability;
    expect(databaseErrorTranslator(down)(new Error('connect ECONNREFUSED'))?.answer.code).toBe('UNAVAILABLE');
    expect(translate(new Error('a bug'))).toBeUndefined();
  });
});
