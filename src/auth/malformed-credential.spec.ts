import { authorizationSyntaxError } from './malformed-credential';

describe('authorizationSyntaxError', () => {
  it.each([
    'Bearer abc.DEF-123_~+/',
    'Bearer abc==',
    'bearer abc',
    'BEARER abc',
    'Bearer  abc', // 1*SP: any number of spaces (RFC 9110 section 11.4, RFC 6750 section 2.1)
    'Basic YWxhZGRpbjpvcGVuc2VzYW1l',
    'Digest username="bot", realm="x", nonce="n\\"q", uri="/", response="abc"',
    'Digest',
    'Token abc123',
    'Negotiate YIIB==',
    'Custom a=b , c = "d"',
  ])('accepts %j', (value) => {
    expect(authorizationSyntaxError(value)).toBeUndefined();
  });

  it.each([
    ['Bearer', 'bearer'],
    ['Bearer a b', 'bearer'],
    ['Bearer a=b', 'bearer'],
    ['Bearer "abc"', 'bearer'],
    ['Bearer\tabc', undefined],
    ['Bearer ab%c', 'bearer'],
    ['Basic', 'basic'],
    ['Basic abc def', 'basic'],
    ['', undefined],
    ['"Bearer" abc', undefined],
    ['Bearer: abc', undefined],
    ['Custom a=b,, =c', undefined],
    ['Custom a="unterminated', undefined],
  ])('refuses %j as malformed, naming the header without its value', (value, method) => {
    const error = authorizationSyntaxError(value);
    expect(error).toMatchObject({ header: 'authorization', reason: 'unknown-token', method });
    expect(error?.problem).toEqual(expect.any(String));
    if (value.length > 6) expect(`${error?.message} ${error?.problem}`).not.toContain(value);
  });
});
