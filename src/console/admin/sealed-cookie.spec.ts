import { cookieValue, seal, setCookie, unseal } from './sealed-cookie';

const SECRET = Buffer.alloc(32, 7);

describe('sealed cookies', () => {
  it('opens what it sealed, for the same purpose, until it expires', () => {
    const sealed = seal('session', { sub: 'ada' }, 2000, SECRET);
    expect(unseal('session', sealed, SECRET, 1000)).toEqual({ sub: 'ada', exp: 2000 });
    expect(unseal('session', sealed, SECRET, 2000)).toBeUndefined();
    expect(unseal('login', sealed, SECRET, 1000)).toBeUndefined();
    expect(unseal('session', sealed, Buffer.alloc(32, 8), 1000)).toBeUndefined();
  });

  it('refuses a changed payload or MAC, and garbage', () => {
    const sealed = seal('session', { sub: 'ada', roles: ['viewer'] }, 2000, SECRET);
    const [payload, mac] = sealed.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'ada', roles: ['operator'], exp: 2000 })).toString('base64url');
    expect(unseal('session', `${forged}.${mac}`, SECRET, 1000)).toBeUndefined();
    expect(unseal('session', `${payload}.${mac.slice(1)}x`, SECRET, 1000)).toBeUndefined();
    for (const junk of ['', '.', 'abc', '.abc', `${payload}.`])
      expect(unseal('session', junk, SECRET, 1000)).toBeUndefined();
  });

  it('reads a cookie from a Cookie header and writes an HttpOnly one', () => {
    expect(cookieValue('a=1; wf_console=xyz; b=2', 'wf_console')).toBe('xyz');
    expect(cookieValue('a=1', 'wf_console')).toBeUndefined();
    expect(setCookie('wf_console', 'v', { maxAgeSeconds: 60, path: '/', sameSite: 'Strict', secure: true })).toBe(
      'wf_console=v; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure',
    );
  });
});
