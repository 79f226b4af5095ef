import type { Request, Response } from 'express';
import type { AuditLog } from '../audit/audit-log';
import { loadConfig } from '../config';
import { CallerRateLimiter } from './caller-rate-limiter';
import { preAuthLimit } from './pre-auth-limit.middleware';
import { PreAuthLimiter } from './pre-auth-limiter';
import { RateLimitStore } from './rate-limit.store';

describe('the throttles over in-memory counters', () => {
  const config = loadConfig({ PREAUTH_LIMIT: '2', PREAUTH_TTL_SECONDS: '60', THROTTLE_LIMIT: '1' }, '/srv');
  const audit = { record: () => undefined } as unknown as AuditLog;
  let store: RateLimitStore;

  beforeEach(() => (store = new RateLimitStore(config)));
  afterEach(() => store.onApplicationShutdown());

  const request = (): Request =>
    ({
      method: 'POST',
      path: '/v1/webhooks/generic',
      originalUrl: '/v1/webhooks/generic',
      url: '/v1/webhooks/generic',
      headers: {},
      socket: { remoteAddress: '10.1.2.3' },
      requestId: 'r-1',
    }) as unknown as Request;

  const response = () => {
    const sent: { status?: number; body?: string; headers: Record<string, unknown> } = { headers: {} };
    const res = {
      setHeader: (name: string, value: unknown) => (sent.headers[name] = value),
      writeHead: (status: number) => (sent.status = status),
      end: (body: string) => (sent.body = body),
    };
    return { res: res as unknown as Response, sent };
  };

  it('lets a request within the budget go on before the middleware returns (no turn of the microtask queue)', () => {
    const middleware = preAuthLimit(new PreAuthLimiter(store, audit, config));
    const next = jest.fn();
    middleware(request(), response().res, next);
    expect(next).toHaveBeenCalledTimes(1);
    expect(next).toHaveBeenCalledWith();
  });

  it('refuses the request past the budget with a 429 at once', () => {
    const middleware = preAuthLimit(new PreAuthLimiter(store, audit, config));
    const next = jest.fn();
    middleware(request(), response().res, next);
    middleware(request(), response().res, next);
    const { res, sent } = response();
    middleware(request(), res, next);
    expect(next).toHaveBeenCalledTimes(2);
    expect(sent.headers['Retry-After']).toBe('60');
    expect(JSON.parse(sent.body ?? '{}')).toMatchObject({ statusCode: 429, error: 'RATE_LIMITED', requestId: 'r-1' });
  });

  it('waits for a count that is a promise (the Redis store), then goes on or refuses', async () => {
    const redisLike = { count: (...args: Parameters<RateLimitStore['increment']>) => store.increment(...args) };
    const middleware = preAuthLimit(new PreAuthLimiter(redisLike as unknown as RateLimitStore, audit, config));
    const next = jest.fn();
    middleware(request(), response().res, next);
    expect(next).not.toHaveBeenCalled();
    await new Promise(setImmediate);
    expect(next).toHaveBeenCalledWith();
    middleware(request(), response().res, next);
    const { res, sent } = response();
    middleware(request(), res, next);
    await new Promise(setImmediate);
    expect(next).toHaveBeenCalledTimes(2);
    expect(sent.headers['Retry-After']).toBe('60');
  });

  it("answers a caller's rate-limit state at once, and throws past its budget", () => {
    const limiter = new CallerRateLimiter(store, audit, config);
    const call = { callerId: 'bot', route: 'POST /v1/webhooks/generic' };
    expect(limiter.consume(call)).toEqual({
      policy: 'default',
      limit: 1,
      windowSeconds: config.throttle.ttlSeconds,
      remaining: 0,
      resetSeconds: config.throttle.ttlSeconds,
    });
    expect(() => limiter.consume(call)).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
  });
});
