import { createHash } from 'node:crypto';
import { replayDigest } from './standard-webhooks.strategy';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('replayDigest', () => {
  it('binds a message with a body to the body alone, as ids remembered by earlier releases are', () => {
    const rawBody = Buffer.from('{"intent":"x"}');
    expect(replayDigest({ rawBody, route: 'POST /v1/webhooks/generic' })).toBe(sha256('{"intent":"x"}'));
    expect(replayDigest({ rawBody, route: 'POST /v1/webhooks/rasa' })).toBe(sha256('{"intent":"x"}'));
  });

  it('binds a message without a body to its method and path', () => {
    const rawBody = Buffer.alloc(0);
    const a = replayDigest({ rawBody, route: 'GET /v1/fulfillments/a' });
    expect(a).toBe(replayDigest({ rawBody, route: 'GET /v1/fulfillments/a' }));
    expect(a).not.toBe(replayDigest({ rawBody, route: 'GET /v1/fulfillments/b' }));
    expect(a).not.toBe(sha256(''));
    expect(replayDigest({ rawBody })).toBe(sha256(''));
  });
});
