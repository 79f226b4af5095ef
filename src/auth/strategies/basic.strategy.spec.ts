import 'reflect-metadata';
import { loadConfig } from '../../config';
import type { AuthAttempt } from '../auth-attempt';
import { CallerRegistry } from '../callers/caller-registry';
import { decoyHash, hashPassword, passwordCheckCost, verifyPassword } from '../passwords';
import { BasicBackoff } from './basic-backoff';
import { PasswordCheckBudget } from './password-check-budget';
import { BasicStrategy, costliestHashes, unknownUsername } from './basic.strategy';
import { Clock } from '../../common/clock';

// The real check, observed: a refusal by the backoff must not hash at all.
jest.mock('../passwords', () => {
  const actual = jest.requireActual<typeof import('../passwords')>('../passwords');
  return { ...actual, verifyPassword: jest.fn(actual.verifyPassword) };
});

class TestClock extends Clock {
  ms = 1_000_000;
  now(): number {
    return this.ms;
  }
  sleep(): Promise<void> {
    return Promise.resolve();
  }
}

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

  const withConfig = (config: ReturnType<typeof loadConfig>, clock: Clock = new TestClock()) =>
    new BasicStrategy(registry, config, new BasicBackoff(config, clock), new PasswordCheckBudget(config));
  const strategy = (env: Record<string, string>, clock?: Clock) => withConfig(loadConfig(env, '/srv'), clock);

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
    const production = withConfig(
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

  it('hashes as often for every attempt as for the caller with the most hashes: no user told apart by time', async () => {
    const rotating = new CallerRegistry(
      [
        {
          id: 'legacy-bot',
          platforms: ['dialogflow-es'],
          auth: { basic: { username: 'legacy', passwordHashes: [await hashPassword(password)] } },
        },
        {
          id: 'rotating-bot',
          platforms: ['dialogflow-es'],
          auth: {
            basic: { username: 'rotating', passwordHashes: [await hashPassword('old'), await hashPassword('new')] },
          },
        },
      ],
      '/etc/callers.yaml',
    );
    const config = loadConfig({}, '/srv');
    const basic = new BasicStrategy(
      rotating,
      config,
      new BasicBackoff(config, new TestClock()),
      new PasswordCheckBudget(config),
    );
    const hashed = async (credentials: string): Promise<number> => {
      jest.mocked(verifyPassword).mockClear();
      await basic.authenticate(attempt({ encrypted: true }, false, credentials));
      return jest.mocked(verifyPassword).mock.calls.length;
    };
    expect(await hashed('rotating:nope')).toBe(2);
    expect(await hashed('legacy:nope')).toBe(2);
    expect(await hashed('ghost:nope')).toBe(2);
    expect((await basic.authenticate(attempt({ encrypted: true }, false, 'rotating:new'))).ok).toBe(true);
    expect((await basic.authenticate(attempt({ encrypted: true }, false, `legacy:${password}`))).ok).toBe(true);
  });

  it('names a configured username in the audit detail, and an unknown one only by its digest', async () => {
    const wrong = await strategy({}).authenticate(attempt({ encrypted: true }, false, 'legacy:nope'));
    const typedPassword = await strategy({}).authenticate(attempt({ encrypted: true }, false, 'hunter2-secret:x'));
    expect(wrong).toMatchObject({ detail: 'legacy' });
    expect(typedPassword).toMatchObject({ detail: unknownUsername('hunter2-secret') });
    expect(JSON.stringify(typedPassword)).not.toContain('hunter2');
    expect(unknownUsername('hunter2-secret')).toMatch(/^unknown username sha256:[0-9a-f]{16}$/);
    expect(unknownUsername('hunter2-secret')).not.toBe(unknownUsername('hunter3-secret'));
  });

  describe('backoff after failures (BASIC_AUTH_MAX_FAILURES per BASIC_AUTH_FAILURE_WINDOW_SECONDS)', () => {
    const env = { BASIC_AUTH_MAX_FAILURES: '3', BASIC_AUTH_FAILURE_WINDOW_SECONDS: '60' };

    it('refuses a username past its failures without checking the password, until the window ends', async () => {
      const clock = new TestClock();
      const basic = strategy(env, clock);
      for (let i = 0; i < 3; i++) {
        expect(await basic.authenticate(attempt({ encrypted: true }, false, 'legacy:nope'))).toMatchObject({
          reason: 'bad-password',
        });
      }
      const verify = jest.mocked(verifyPassword);
      verify.mockClear();
      // Even the right password is refused now, and no hash is computed for it.
      expect(await basic.authenticate(attempt({ encrypted: true }, false))).toEqual({
        ok: false,
        reason: 'too-many-failures',
        detail: 'legacy',
      });
      expect(verify).not.toHaveBeenCalled();
      clock.ms += 59_999;
      expect((await basic.authenticate(attempt({ encrypted: true }, false))).ok).toBe(false);
      clock.ms += 1;
      expect(await basic.authenticate(attempt({ encrypted: true }, false))).toMatchObject({ ok: true });
      expect(verify).toHaveBeenCalled();
    });

    it('lets no more wrong guesses through than the limit when they arrive together', async () => {
      const basic = strategy(env);
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, () => basic.authenticate(attempt({ encrypted: true }, false, 'legacy:nope'))),
      );
      const reasons = outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.reason));
      expect(reasons.filter((reason) => reason === 'bad-password')).toHaveLength(3);
      expect(reasons.filter((reason) => reason === 'too-many-failures')).toHaveLength(9);
    });

    it('lets every right password through when more than the limit arrive together (only failures count)', async () => {
      const basic = strategy(env);
      const outcomes = await Promise.all(
        Array.from({ length: 5 }, () => basic.authenticate(attempt({ encrypted: true }, false))),
      );
      // Before, each attempt took a failure before its check: the fourth and fifth were refused too-many-failures.
      expect(outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.reason))).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
      // And none of them counted: three wrong passwords are still allowed.
      for (let i = 0; i < 3; i++) {
        expect(await basic.authenticate(attempt({ encrypted: true }, false, 'legacy:nope'))).toMatchObject({
          reason: 'bad-password',
        });
      }
    });

    it('checks no more wrong passwords than the limit when right and wrong ones arrive together', async () => {
      const basic = strategy(env);
      const outcomes = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          basic.authenticate(attempt({ encrypted: true }, false, i % 2 ? 'legacy:nope' : `legacy:${password}`)),
        ),
      );
      const reasons = outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.reason));
      expect(reasons.filter((reason) => reason === 'bad-password')).toHaveLength(3);
      expect(
        reasons.filter((reason) => reason !== 'bad-password' && reason !== 'ok' && reason !== 'too-many-failures'),
      ).toEqual([]);
    });

    it('does not count a right password against the username', async () => {
      const basic = strategy(env);
      for (let i = 0; i < 5; i++) expect((await basic.authenticate(attempt({ encrypted: true }, false))).ok).toBe(true);
      for (let i = 0; i < 2; i++) await basic.authenticate(attempt({ encrypted: true }, false, 'legacy:nope'));
      expect((await basic.authenticate(attempt({ encrypted: true }, false))).ok).toBe(true);
    });

    it('backs off an unknown username exactly like a known one (no hint which exist)', async () => {
      const basic = strategy(env);
      for (let i = 0; i < 3; i++) await basic.authenticate(attempt({ encrypted: true }, false, 'ghost:nope'));
      const verify = jest.mocked(verifyPassword);
      verify.mockClear();
      // The same refusal; only the operators' audit detail names the username differently (never the caller's reply).
      expect(await basic.authenticate(attempt({ encrypted: true }, false, 'ghost:nope'))).toEqual({
        ok: false,
        reason: 'too-many-failures',
        detail: unknownUsername('ghost'),
      });
      expect(verify).not.toHaveBeenCalled();
      // Another username is unaffected.
      expect((await basic.authenticate(attempt({ encrypted: true }, false))).ok).toBe(true);
    });

    it('is off with BASIC_AUTH_MAX_FAILURES=0', async () => {
      const basic = strategy({ BASIC_AUTH_MAX_FAILURES: '0' });
      for (let i = 0; i < 12; i++) await basic.authenticate(attempt({ encrypted: true }, false, 'legacy:nope'));
      expect((await basic.authenticate(attempt({ encrypted: true }, false))).ok).toBe(true);
    });
  });
});

describe('the hashes every basic attempt checks', () => {
  const hash = (n: number, r = 8, p = 1) => `scrypt$${n}$${r}$${p}$c2FsdA==$${Buffer.alloc(32, 7).toString('base64')}`;
  const caller = (...passwordHashes: string[]) => ({ settings: { passwordHashes } });

  it("are as many, and as costly, as the costliest caller's (an unknown user's took a fixed 2^15 decoy)", () => {
    const cheap = caller(hash(2 ** 14));
    const rotating = caller(hash(2 ** 15), hash(2 ** 15));
    const strong = caller(hash(2 ** 17, 8, 2));
    expect(costliestHashes([cheap, rotating, strong])).toEqual([hash(2 ** 17, 8, 2)]);
    expect(costliestHashes([cheap, rotating])).toEqual([hash(2 ** 15), hash(2 ** 15)]);
    expect(costliestHashes([])).toEqual([]);
  });

  it('decoys cost what the hash they stand for costs, and match no password', async () => {
    const decoy = decoyHash(hash(2 ** 14, 8, 2));
    expect(decoy.split('$').slice(0, 4)).toEqual(['scrypt', '16384', '8', '2']);
    expect(passwordCheckCost(decoy)).toBe(passwordCheckCost(hash(2 ** 14, 8, 2)));
    await expect(verifyPassword('', decoy)).resolves.toBe(false);
  });
});
