import { restoreRepeatedHeaders } from './repeated-headers';

describe('restoreRepeatedHeaders', () => {
  it('gives a header node:http2 reduced to its first value every value, in order', () => {
    const headers: Record<string, string | string[] | undefined> = { authorization: 'Bearer a', te: 'trailers' };
    restoreRepeatedHeaders(headers, ['Authorization', 'Bearer a', 'te', 'trailers', 'authorization', 'Bearer b']);
    expect(headers).toEqual({ authorization: ['Bearer a', 'Bearer b'], te: 'trailers' });
  });

  it('splits a joined header back into its fields and leaves single headers and pseudo-headers alone', () => {
    const headers: Record<string, string | string[] | undefined> = { 'x-a': '1, 2', 'x-b': '3', ':path': '/p' };
    restoreRepeatedHeaders(headers, [':path', '/p', 'x-a', '1', 'x-a', '2', 'x-b', '3']);
    expect(headers).toEqual({ 'x-a': ['1', '2'], 'x-b': '3', ':path': '/p' });
  });
});
