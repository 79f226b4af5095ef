import { AppError } from '../../common/errors/app-error';
import { loadConfig } from '../../config';
import type { ConsoleOptions } from '../console.options';
import type { AdminPrincipal, AdminRequest } from './admin-principal';
import { hasRole } from './admin-principal';
import { AdminSessions } from './admin-sessions';
import { isLocalOperatorRequest, LOCAL_OPERATOR } from './local-operator';

const viewer: AdminPrincipal = { subject: 'v', name: 'V', roles: ['viewer'], via: 'oidc', sessionId: 's-1' };

function requestWith(headers: Record<string, string>, peer = '127.0.0.1'): AdminRequest {
  return {
    method: 'POST',
    protocol: 'http',
    headers: { host: '127.0.0.1:9465', ...headers },
    socket: { remoteAddress: peer },
  } as unknown as AdminRequest;
}

function refusal(run: () => void): string | undefined {
  try {
    run();
    return undefined;
  } catch (error: unknown) {
    return (error as AppError).code;
  }
}

const options: ConsoleOptions = {
  turnLog: { enabled: true, retentionHours: 1, flushMs: 500, maxBuffered: 100 },
  sessionSecret: Buffer.alloc(32, 1),
  sessionTtlMs: 3_600_000,
  secureCookies: true,
  publicOrigin: 'https://console.bank.example',
};

describe('AdminSessions', () => {
  const sessions = new AdminSessions(loadConfig({ NODE_ENV: 'development' }), options);
  const token = sessions.csrfToken(LOCAL_OPERATOR);

  it("accepts an action that carries its session's token from the console's own origin", () => {
    const request = requestWith({
      'x-csrf-token': token,
      origin: 'http://127.0.0.1:9465',
      'sec-fetch-site': 'same-origin',
    });
    expect(refusal(() => sessions.checkCsrf(request, LOCAL_OPERATOR))).toBeUndefined();
  });

  it('accepts one from its public origin, which the listener behind an ingress that ends TLS sees as http', () => {
    const request = requestWith({
      'x-csrf-token': token,
      host: 'console.bank.example',
      origin: 'https://console.bank.example',
      'sec-fetch-site': 'same-origin',
    });
    expect(refusal(() => sessions.checkCsrf(request, LOCAL_OPERATOR))).toBeUndefined();
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { 'x-csrf-token': token.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }],
    ["another session's token", { 'x-csrf-token': sessions.csrfToken(viewer) }],
    ['another origin', { 'x-csrf-token': token, origin: 'http://attacker.example' }],
    ['the public host over http', { 'x-csrf-token': token, origin: 'http://console.bank.example' }],
    ['a cross-site fetch', { 'x-csrf-token': token, 'sec-fetch-site': 'cross-site' }],
  ])('refuses an action with %s (403)', (_what, headers: Record<string, string>) => {
    expect(refusal(() => sessions.checkCsrf(requestWith(headers), LOCAL_OPERATOR))).toBe('FORBIDDEN');
  });

  it('knows the local operator only outside production', () => {
    expect(sessions.principalOf(requestWith({}))).toBe(LOCAL_OPERATOR);
    const production = new AdminSessions(
      loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://x/y' }, process.cwd(), { serving: false }),
      options,
    );
    expect(production.principalOf(requestWith({}))).toBeUndefined();
  });
});

describe('console sessions', () => {
  const sessions = new AdminSessions(
    loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://x/y' }, '/', { serving: false }),
    options,
  );

  it('knows a signed-in person from their session cookie, and no one from a forged or foreign one', () => {
    const setCookie = sessions.sessionCookie(viewer);
    expect(setCookie).toMatch(/^__Host-wf_console=[^;]+; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax; Secure$/);
    const cookie = setCookie.split(';')[0];
    expect(sessions.principalOf(requestWith({ cookie }, '10.0.0.9'))).toEqual({
      ...viewer,
      name: 'V',
      expiresAt: expect.any(Number),
      signedInAt: expect.any(Number),
    });
    const other = new AdminSessions(sessions['config'], { ...options, sessionSecret: Buffer.alloc(32, 2) });
    expect(other.principalOf(requestWith({ cookie }, '10.0.0.9'))).toBeUndefined();
    expect(sessions.principalOf(requestWith({ cookie: `${cookie}x` }, '10.0.0.9'))).toBeUndefined();
  });

  it('keeps in the cookie when the person signed in (sessions a subject signed in before an instant can be ended)', () => {
    const cookie = sessions.sessionCookie({ ...viewer, signedInAt: 1_800_000_000_000 }).split(';')[0];
    expect(sessions.principalOf(requestWith({ cookie }, '10.0.0.9'))).toMatchObject({ signedInAt: 1_800_000_000_000 });
  });

  it('over https, takes the session and the sign-in state only from prefixed cookies a sibling host cannot set', () => {
    const value = sessions.sessionCookie(viewer).split(';')[0].split('=')[1];
    // A page on another host under the same domain can set `wf_console` (Domain=bank.example), never `__Host-…`.
    expect(sessions.principalOf(requestWith({ cookie: `wf_console=${value}` }, '10.0.0.9'))).toBeUndefined();
    expect(sessions.principalOf(requestWith({ cookie: `__Host-wf_console=${value}` }, '10.0.0.9'))).toMatchObject({
      subject: 'v',
    });
    expect(sessions.loginCookie('state')).toBe(
      '__Host-wf_console_login=state; Path=/; Max-Age=600; HttpOnly; SameSite=Lax; Secure',
    );
    expect(sessions.loginState(requestWith({ cookie: 'wf_console_login=planted' }))).toBeUndefined();
    expect(sessions.loginState(requestWith({ cookie: '__Host-wf_console_login=state' }))).toBe('state');
    expect(sessions.clearingCookies()).toEqual([
      '__Host-wf_console=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure',
      '__Host-wf_console_login=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure',
    ]);
  });

  it('over plain http (development), the cookies are unprefixed: browsers refuse the prefixes without Secure', () => {
    const plain = new AdminSessions(sessions['config'], { ...options, secureCookies: false });
    expect(plain.sessionCookieName).toBe('wf_console');
    expect(plain.loginCookie('state')).toBe('wf_console_login=state; Path=/; Max-Age=600; HttpOnly; SameSite=Lax');
    expect(plain.loginState(requestWith({ cookie: 'wf_console_login=state' }))).toBe('state');
  });

  it('refuses a token with a byte above 0x7f as any wrong token (403), though it has the right number of characters', () => {
    const token = sessions.csrfToken(viewer);
    const request = requestWith({ 'x-csrf-token': `${token.slice(0, -1)}\u00e9` });
    expect(refusal(() => sessions.checkCsrf(request, viewer))).toBe('FORBIDDEN');
  });

  it("binds the CSRF token to the session: another session's token is refused", () => {
    const request = requestWith({ 'x-csrf-token': sessions.csrfToken(LOCAL_OPERATOR) });
    expect(refusal(() => sessions.checkCsrf(request, viewer))).toBe('FORBIDDEN');
  });
});

describe('the local operator', () => {
  const local = (peer: string, host: string, headers: Record<string, string> = {}, clientAddress?: string) =>
    isLocalOperatorRequest({ socket: { remoteAddress: peer }, headers: { host, ...headers }, clientAddress });

  it.each([
    ['127.0.0.1', '127.0.0.1:9465', true],
    ['::1', '[::1]:9465', true],
    ['::ffff:127.0.0.1', 'localhost:9465', true],
    ['127.0.0.1', 'attacker.example:9465', false],
    ['127.0.0.1', 'localhost.attacker.example', false],
    ['10.0.0.5', '127.0.0.1:9465', false],
    ['127.0.0.1', '', false],
  ])('peer %s, Host %s: %s', (peer, host, expected) => {
    expect(local(peer, host)).toBe(expected);
  });

  it('is no one a trusted proxy on this machine forwarded from elsewhere (the settled client address is not loopback)', () => {
    expect(local('127.0.0.1', '127.0.0.1:9465', {}, '127.0.0.1')).toBe(true);
    expect(local('127.0.0.1', '127.0.0.1:9465', {}, '203.0.113.5')).toBe(false);
  });

  it.each([
    ['x-forwarded-for', '203.0.113.5'],
    // A proxy in TRUSTED_PROXIES that hides its client: the resolver then takes the proxy (loopback) for it.
    ['forwarded', 'for=unknown'],
    ['x-forwarded-for', '127.0.0.1'],
    ['x-forwarded-host', '127.0.0.1:9465'],
    ['x-forwarded-proto', 'https'],
    ['x-real-ip', '203.0.113.5'],
    ['via', '1.1 nginx'],
  ])('is no one who came through a proxy on this machine, whether it is trusted or not (%s: %s)', (name, value) => {
    expect(local('127.0.0.1', '127.0.0.1:9465', { [name]: value }, '127.0.0.1')).toBe(false);
    expect(local('127.0.0.1', '127.0.0.1:9465', { [name]: value })).toBe(false);
  });

  it('is decided on the client address the admin listener settled, with forwarding headers, by AdminSessions', () => {
    const sessions = new AdminSessions(loadConfig({ NODE_ENV: 'development' }), options);
    const forwarded = {
      ...requestWith({ 'x-forwarded-for': '203.0.113.5' }),
      clientAddress: '203.0.113.5',
    } as unknown as AdminRequest;
    expect(sessions.principalOf(forwarded)).toBeUndefined();
    expect(sessions.principalOf(requestWith({}))).toBe(LOCAL_OPERATOR);
  });
});

describe('roles', () => {
  it('lets an operator do what a viewer may, and a viewer nothing more', () => {
    expect(hasRole(LOCAL_OPERATOR, 'viewer')).toBe(true);
    expect(hasRole(viewer, 'viewer')).toBe(true);
    expect(hasRole(viewer, 'operator')).toBe(false);
  });
});
