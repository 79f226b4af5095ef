import { authorizationSyntaxError } from '../auth/malformed-credential';
import { makeMetadataSafe, restoreRepeatedHeaders, UNREADABLE_VALUE } from './repeated-headers';

/** What grpc-js takes as a text metadata value. */
const METADATA_SAFE = /^[ -~]*$/;

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

describe('makeMetadataSafe', () => {
  it('replaces text values grpc-js cannot hold, keeping every occurrence of a repeated header', () => {
    const headers: Record<string, string | string[] | undefined> = {
      authorization: ['Bearer good', 'Bearer bad\tsecret'],
      'x-request-id': 'caf\u00e9',
      'x-fine': 'plain text ~',
      ':path': '/p\t',
    };
    makeMetadataSafe(headers);
    expect(headers).toEqual({
      authorization: ['Bearer good', UNREADABLE_VALUE],
      'x-request-id': UNREADABLE_VALUE,
      'x-fine': 'plain text ~',
      ':path': '/p\t',
    });
  });

  it('puts in a value every credential syntax refuses as malformed (not a scheme the caller guard would skip)', () => {
    const headers: Record<string, string | string[] | undefined> = { authorization: 'Bearer caf\u00e9' };
    makeMetadataSafe(headers);
    expect(METADATA_SAFE.test(String(headers.authorization))).toBe(true);
    // Before, the value was the word "unreadable": a well-formed scheme-only credential we do not support.
    expect(authorizationSyntaxError(String(headers.authorization))).toMatchObject({ header: 'authorization' });
  });

  it('leaves binary (-bin) values to grpc-js, which decodes them, and drops names that cannot be metadata keys', () => {
    const headers: Record<string, string | string[] | undefined> = { 'trace-bin': 'AAE=', 'x/y': 'v', 'x-ok': 'v' };
    makeMetadataSafe(headers);
    expect(headers).toEqual({ 'trace-bin': 'AAE=', 'x-ok': 'v' });
  });
});
