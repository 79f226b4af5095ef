import 'reflect-metadata';
import { loadConfig } from '../../config';
import type { AuthAttempt } from '../auth-attempt';
import { CallerRegistry } from '../callers/caller-registry';
import { hashPassword } from '../passwords';
import { BasicStrategy } from './basic.strategy';

describe('BasicStrategy', () => {
  const password = 'correct horse battery staple';
  let registry: CallerRegistry;

  beforeAll(async () => {
    registry = new CallerRegistry(
      [
        {
          id: 'legacy-bot',
          platforms: ['dialogflow-es'],
          auth: { basic: { username: 'legacy', passwordHashes: [await hashPassword(password)] } },
        },
      ],
      '/etc/callers.yaml',
    );
  });

  const attempt = (over: Partial<AuthAttempt['connection']>, local: boolean, credentials = `legacy:${password}`) =>
    ({
      headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` },
      rawBody: Buffer.alloc(0),
      connection: { encrypted: false, clientCertificateVerified: false, ...over },
      local,
      nowSeconds: 0,
    }) as AuthAttempt;

  const strategy = (env: Record<string, string>) => new BasicStrategy(registry, loadConfig(env, '/srv'));

  it('accepts the right password over TLS', async () => {
    const outcome = await strategy({}).authenticate(attempt({ encrypted: true }, false));
    expect(outcome).toMatchObject({ ok: true, caller: { id: 'legacy-bot' } });
  });

  it('refuses plain HTTP from another host, even with the right password', async () => {
    const outcome = await strategy({}).authenticate(attempt({}, false));
    expect(outcome).toEqual({ ok: false, reason: 'basic-without-tls' });
  });

  it('accepts plain HTTP from loopback in development, and behind a TLS-terminating proxy', async () => {
    expect((await strategy({}).authenticate(attempt({}, true))).ok).toBe(true);
    expect((await strategy({ TLS_TERMINATED_BY_PROXY: 'true' }).authenticate(attempt({}, false))).ok).toBe(true);
  });

  it('refuses plain HTTP from loopback in production without a proxy statement', async () => {
    const production = new BasicStrategy(
      registry,
      loadConfig(
        {
          NODE_ENV: 'production',
          DATABASE_URL: 'postgres://db/app',
          CALLERS_FILE: '/etc/callers.yaml',
          TLS_CERT_FILE: '/tls/crt',
          TLS_KEY_FILE: '/tls/key',
        },
        '/srv',
      ),
    );
    expect(await production.authenticate(attempt({}, true))).toEqual({ ok: false, reason: 'basic-without-tls' });
  });

  it('refuses a wrong password and an unknown user the same way', async () => {
    const wrong = await strategy({}).authenticate(attempt({ encrypted: true }, false, 'legacy:nope'));
    const unknown = await strategy({}).authenticate(attempt({ encrypted: true }, false, `ghost:${password}`));
    expect(wrong).toMatchObject({ ok: false, reason: 'bad-password' });
    expect(unknown).toMatchObject({ ok: false, reason: 'bad-password' });
  });
});
