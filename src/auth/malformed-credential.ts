import type { AuthFailureReason } from './auth-attempt';
import type { AuthMethod } from './callers/caller';

/**
 * A credential header whose syntax is wrong, as opposed to a credential that is wrong: the request is malformed
 * (400 `MALFORMED_REQUEST` naming the header, never echoing its value), not unauthenticated. A strategy throws it;
 * `CallerAuthenticator` audits it under `reason`/`detail` like any refused credential and answers the 400.
 */
export class MalformedCredentialHeader extends Error {
  constructor(
    /** Lower-case header name, reported as `details[0].field`. */
    readonly header: string,
    /** What the header must look like; never the value received. */
    readonly problem: string,
    readonly reason: AuthFailureReason,
    readonly detail?: string,
    readonly method?: AuthMethod,
  ) {
    super(`The ${header} header is malformed.`);
    this.name = 'MalformedCredentialHeader';
  }
}

/**
 * What a transport puts in place of a header value it cannot hold (gRPC metadata: a tab, a byte over 0x7e), so that
 * the header still counts and a credential in it is refused as malformed. Outside every credential's syntax: no
 * authentication scheme, token68, signature, timestamp or webhook-id has parentheses.
 */
export const UNREADABLE_HEADER_VALUE = '(unreadable)';

// RFC 9110 §5.6.2 token, §11.2 token68, §5.6.4 quoted-string (obs-text arrives as latin1 \x80-\xff).
const TCHAR = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";
const TOKEN = new RegExp(`^${TCHAR}+$`);
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
const PARAM = `${TCHAR}+[ \\t]*=[ \\t]*(?:${TCHAR}+|${QUOTED})`;
const PARAMS = new RegExp(`^${PARAM}(?:[ \\t]*,[ \\t]*${PARAM})*$`);

/**
 * Checks an `Authorization` value against `credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`
 * (RFC 9110 §11.4). `Bearer` must carry a b64token (RFC 6750 §2.1) and `Basic` a token68 (RFC 7617 §2): either
 * without one, or with anything else after it, is malformed. Any number of spaces may separate scheme and
 * credentials (1*SP), other whitespace may not. A well-formed value under a scheme we do not support is not a
 * syntax error: it stays a missing credential (401 with a challenge naming the schemes we do support).
 */
export function authorizationSyntaxError(value: string): MalformedCredentialHeader | undefined {
  const space = value.indexOf(' ');
  const scheme = space < 0 ? value : value.slice(0, space);
  const credentials = space < 0 ? '' : value.slice(space).replace(/^ +/, '');
  const malformed = (problem: string, method?: AuthMethod) =>
    new MalformedCredentialHeader('authorization', problem, 'unknown-token', 'malformed authorization header', method);
  if (value === UNREADABLE_HEADER_VALUE) {
    return malformed('holds a character a header may not carry here (a tab, or a byte over 0x7e)');
  }
  if (!TOKEN.test(scheme)) {
    return malformed('must be an authentication scheme, a space and the credentials (RFC 9110 section 11.4)');
  }
  switch (scheme.toLowerCase()) {
    case 'bearer':
      return TOKEN68.test(credentials)
        ? undefined
        : malformed('must be "Bearer", a space and one token (RFC 6750 section 2.1)', 'bearer');
    case 'basic':
      return TOKEN68.test(credentials)
        ? undefined
        : malformed('must be "Basic", a space and base64 credentials (RFC 7617 section 2)', 'basic');
    default:
      return credentials === '' || TOKEN68.test(credentials) || PARAMS.test(credentials)
        ? undefined
        : malformed('must be an authentication scheme, a space and the credentials (RFC 9110 section 11.4)');
  }
}
