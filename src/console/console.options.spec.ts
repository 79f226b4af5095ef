import { ConfigError, loadConfig, loadSections } from '../config';
import { CONSOLE_OPTIONS, ConsoleOptions } from './console.options';

const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://app@db/app',
  TLS_TERMINATED_BY_PROXY: 'true',
  CALLERS_FILE: 'callers.yaml',
  ADMIN_ENABLED: 'true',
};
const OIDC = {
  ADMIN_OIDC_ISSUER: 'https://login.bank.example',
  ADMIN_OIDC_CLIENT_ID: 'console',
  ADMIN_OIDC_CLIENT_SECRET: 'client-secret',
};

function options(env: Record<string, string>): ConsoleOptions {
  const [provider] = loadSections(loadConfig(env, '/srv'), [CONSOLE_OPTIONS]);
  return provider.useValue as ConsoleOptions;
}

function problems(env: Record<string, string>): string[] {
  try {
    options(env);
    return [];
  } catch (error: unknown) {
    if (error instanceof ConfigError) return error.problems.map((problem) => problem.split(':')[0]);
    throw error;
  }
}

describe('console options', () => {
  it('needs OpenID Connect, a session secret and an https public URL for the console in production', () => {
    expect(problems(PRODUCTION)).toEqual(['ADMIN_OIDC_ISSUER']);
    expect(problems({ ...PRODUCTION, ...OIDC })).toEqual(['ADMIN_SESSION_SECRET']);
    expect(problems({ ...PRODUCTION, ...OIDC, ADMIN_SESSION_SECRET: 's'.repeat(32) })).toEqual(['ADMIN_PUBLIC_URL']);
    const ready = options({
      ...PRODUCTION,
      ...OIDC,
      ADMIN_SESSION_SECRET: 's'.repeat(32),
      ADMIN_PUBLIC_URL: 'https://console.bank.example/',
    });
    expect(ready.oidc).toMatchObject({
      issuer: OIDC.ADMIN_OIDC_ISSUER,
      redirectUri: 'https://console.bank.example/callback',
    });
    expect(ready.secureCookies).toBe(true);
    expect(ready.publicOrigin).toBe('https://console.bank.example');
    expect(problems({ ...PRODUCTION, ADMIN_ENABLED: 'false' })).toEqual([]);
  });

  it('names the half of the OpenID Connect settings that is missing', () => {
    expect(problems({ ADMIN_OIDC_ISSUER: OIDC.ADMIN_OIDC_ISSUER })).toEqual(['ADMIN_OIDC_CLIENT_ID']);
    expect(problems({ ADMIN_OIDC_CLIENT_ID: 'console' })).toEqual(['ADMIN_OIDC_ISSUER']);
    expect(problems({ ...OIDC, ADMIN_SESSION_SECRET: 'short' })).toEqual(['ADMIN_SESSION_SECRET']);
  });

  it('never echoes a refused session secret (a section of its own, named as a secret)', () => {
    expect(() => options({ ...OIDC, ADMIN_SESSION_SECRET: 'the-real-but-short-secret' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('the-real-but-short-secret') }),
    );
    expect(() => options({ ...OIDC, ADMIN_SESSION_SECRET: 'the-real-but-short-secret' })).toThrow(
      /ADMIN_SESSION_SECRET: /,
    );
  });

  it("keys masked URLs' digests from the session secret, never with the cookies' key itself", () => {
    const secret = 's'.repeat(32);
    const configured = options({ ADMIN_SESSION_SECRET: secret });
    expect(configured.urlDigestKey).toHaveLength(32);
    expect(configured.urlDigestKey!.includes(configured.sessionSecret)).toBe(false);
    expect(options({ ADMIN_SESSION_SECRET: secret }).urlDigestKey).toEqual(configured.urlDigestKey);
    expect(options({ ADMIN_SESSION_SECRET: 't'.repeat(32) }).urlDigestKey).not.toEqual(configured.urlDigestKey);
    expect(options({}).urlDigestKey).toBeUndefined();
  });

  it('defaults the redirect URI to the admin listener in development', () => {
    expect(options({ ...OIDC, ADMIN_PORT: '9999' }).oidc?.redirectUri).toBe('http://127.0.0.1:9999/callback');
    expect(options({}).oidc).toBeUndefined();
  });

  it('takes a trace URL only as an http(s) URL with {traceId} in it', () => {
    const template = 'https://grafana.bank.example/explore?traceId={traceId}';
    expect(options({ ADMIN_TRACE_URL: template }).traceUrl).toBe(template);
    expect(options({}).traceUrl).toBeUndefined();
    expect(problems({ ADMIN_TRACE_URL: 'https://jaeger.bank.example/trace/' })).toEqual(['ADMIN_TRACE_URL']);
    expect(problems({ ADMIN_TRACE_URL: 'javascript:alert({traceId})' })).toEqual(['ADMIN_TRACE_URL']);
  });
});
