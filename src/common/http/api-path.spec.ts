import { isApiRequest } from './api-path';

describe('isApiRequest', () => {
  it('knows every spelling express routes to the versioned API, and nothing else', () => {
    for (const url of ['/v1/webhooks/generic', '/V1/webhooks/generic', '/v1/WEBHOOKS/x', '/V1/']) {
      expect(isApiRequest({ url, path: url })).toBe(true);
    }
    // An absolute form or a backslash: express's parsed path says where it goes.
    expect(isApiRequest({ url: 'http://host/V1/webhooks/generic', path: '/V1/webhooks/generic' })).toBe(true);
    for (const url of ['/health/live', '/v1', '/v2/x', '/docs', '/', '/v']) {
      expect(isApiRequest({ url, path: url })).toBe(false);
    }
  });
});
