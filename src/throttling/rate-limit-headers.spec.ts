import { rateLimitHeaders } from './rate-limit-headers';

describe('rateLimitHeaders (draft-ietf-httpapi-ratelimit-headers)', () => {
  it('names the policy with its quota and window, and the remaining quota and reset', () => {
    expect(
      rateLimitHeaders({ policy: 'default', limit: 600, windowSeconds: 60, remaining: 42, resetSeconds: 17 }),
    ).toEqual({ 'RateLimit-Policy': '"default";q=600;w=60', RateLimit: '"default";r=42;t=17' });
  });

  it('quotes a route policy name as a Structured Field String, escaping " and \\', () => {
    const headers = rateLimitHeaders({
      policy: 'a "b" \\c',
      limit: 1,
      windowSeconds: 2,
      remaining: 0,
      resetSeconds: 2,
    });
    expect(headers['RateLimit-Policy']).toBe('"a \\"b\\" \\\\c";q=1;w=2');
  });

  it('sends only the policy when the counter store could not say where the caller stands', () => {
    expect(rateLimitHeaders({ policy: 'default', limit: 5, windowSeconds: 60 })).toEqual({
      'RateLimit-Policy': '"default";q=5;w=60',
    });
  });
});
