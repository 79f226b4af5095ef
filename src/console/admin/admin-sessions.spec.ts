import { AppError } from '../../common/errors/app-error';
import { loadConfig } from '../../config';
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

describe('AdminSessions', () => {
  const sessions = new AdminSessions(loadConfig({ NODE_ENV: 'development' }));
  const token = sessions.csrfToken(LOCAL_OPERATOR);

  it("accepts an action that carries its session's token from the console's own origin", () => {
    const request = requestWith({
      'x-csrf-token': token,
      origin: 'http://127.0.0.1:9465',
      'sec-fetch-site': 'same-origin',
    });
    expect(refusal(() => sessions.checkCsrf(request, LOCAL_OPERATOR))).toBeUndefined();
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { 'x-csrf-token': token.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }],
    ["another session's token", { 'x-csrf-token': sessions.csrfToken(viewer) }],
    ['another origin', { 'x-csrf-token': token, origin: 'http://attacker.example' }],
    ['a cross-site fetch', { 'x-csrf-token': token, 'sec-fetch-site': 'cross-site' }],
  ])('refuses an action with %s (403)', (_what, headers: Record<string, string>) => {
    expect(refusal(() => sessions.checkCsrf(requestWith(headers), LOCAL_OPERATOR))).toBe('FORBIDDEN');
  });

  it('knows the local operator only outside production', () => {
    expect(sessions.principalOf(requestWith({}))).toBe(LOCAL_OPERATOR);
    const production = new AdminSessions(
      loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://x/y' }, process.cwd(), { serving: false }),
    );
    expect(production.principalOf(requestWith({}))).toBeUndefined();
  });
});

describe('the local operator', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1:9465', true],
    ['::1', '[::1]:9465', true],
    ['::ffff:127.0.0.1', 'localhost:9465', true],
    ['127.0.0.1', 'attacker.example:9465', false],
    ['127.0.0.1', 'localhost.attacker.example', false],
    ['10.0.0.5', '127.0.0.1:9465', false],
    ['127.0.0.1', '', false],
  ])('peer %s, Host %s: %s', (peer, host, expected) => {
    expect(isLocalOperatorRequest(peer, host)).toBe(expected);
  });
});

describe('roles', () => {
  it('lets an operator do what a viewer may, and a viewer nothing more', () => {
    expect(hasRole(LOCAL_OPERATOR, 'viewer')).toBe(true);
    expect(hasRole(viewer, 'viewer')).toBe(true);
    expect(hasRole(viewer, 'operator')).toBe(false);
  });
});
