import type { JWTHeaderParameters, JWTPayload } from 'jose';
import { loadJose } from './jose';
import { JwtVerifier, type JwtVerifierOptions } from './jwt-verifier';
import {
  base64url,
  closedUrl,
  LocalServer,
  makeKey,
  nowSeconds,
  serveJwks,
  signJwt,
  sleep,
  type TestKey,
} from './testing/local-server';

const ISSUER = 'https://issuer.example';
const AUDIENCE = 'https://webhook.example/fulfillment';
const JWKS = '/jwks';

let server: LocalServer;
let rsa: TestKey;
let ec: TestKey;
let ed: TestKey;
/** Same kid as `rsa`, different key: never published. */
let impostor: TestKey;
let rotated: TestKey;
let published: TestKey[];

beforeAll(async () => {
  server = await LocalServer.start();
  [rsa, ec, ed, impostor, rotated] = await Promise.all([
    makeKey('rsa-1', 'RS256'),
    makeKey('ec-1', 'ES256'),
    makeKey('ed-1', 'EdDSA'),
    makeKey('rsa-1', 'RS256'),
    makeKey('rsa-2', 'RS256'),
  ]);
});

afterAll(() => server.close());

beforeEach(() => {
  server.reset();
  published = [rsa, ec, ed];
  serveJwks(server, JWKS, () => published);
});

function verifier(overrides: Partial<JwtVerifierOptions> = {}): JwtVerifier {
  return new JwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: server.url(JWKS),
    clockToleranceSeconds: 60,
    ...overrides,
  });
}

function claims(overrides: JWTPayload = {}): JWTPayload {
  const now = nowSeconds();
  return { iss: ISSUER, aud: AUDIENCE, sub: 'svc-a', iat: now, exp: now + 300, ...overrides };
}

function jwksRequests(): number {
  return server.count(JWKS);
}

describe('JwtVerifier', () => {
  describe('accepts', () => {
    it.each([
      ['RS256', () => rsa],
      ['ES256', () => ec],
      ['EdDSA', () => ed],
    ])('a good %s token and returns its claims', async (_alg, key) => {
      const result = await verifier().verify(await signJwt(key(), claims({ scope: 'fulfil' })));
      expect(result).toEqual({ ok: true, claims: expect.objectContaining({ sub: 'svc-a', scope: 'fulfil' }) });
    });

    it('any configured issuer and any configured audience', async () => {
      const v = verifier({ issuer: ['https://other.example', ISSUER], audience: ['nope', AUDIENCE] });
      const token = await signJwt(rsa, claims({ aud: ['unrelated', AUDIENCE] }));
      expect(await v.verify(token)).toMatchObject({ ok: true });
    });

    it('reuses the cached JWKS for later tokens', async () => {
      const v = verifier();
      for (let i = 0; i < 3; i++) expect(await v.verify(await signJwt(rsa, claims()))).toMatchObject({ ok: true });
      expect(await v.verify(await signJwt(ec, claims()))).toMatchObject({ ok: true });
      expect(jwksRequests()).toBe(1);
    });
  });

  describe('signature and keys', () => {
    it('refuses a token signed by a key that is not in the JWKS but uses a published kid', async () => {
      expect(await verifier().verify(await signJwt(impostor, claims()))).toEqual({
        ok: false,
        reason: 'bad-signature',
      });
    });

    it('refuses a token whose signature was tampered with', async () => {
      const [header, payload] = (await signJwt(rsa, claims())).split('.');
      const forged = `${header}.${base64url(JSON.stringify(claims({ sub: 'admin' })))}.${base64url('x'.repeat(256))}`;
      expect(payload).toBeDefined();
      expect(await verifier().verify(forged)).toEqual({ ok: false, reason: 'bad-signature' });
    });

    it('reports an unknown kid and does not refetch the JWKS within the cooldown', async () => {
      const v = verifier(); // default 30 s cooldown
      expect(await v.verify(await signJwt(rsa, claims()))).toMatchObject({ ok: true });
      published = [rsa, rotated];
      expect(await v.verify(await signJwt(rotated, claims()))).toEqual({ ok: false, reason: 'unknown-kid' });
      expect(jwksRequests()).toBe(1);
    });

    it('refetches the JWKS for an unknown kid once the cooldown has passed', async () => {
      const v = verifier({ cooldownDurationMs: 300 });
      const token = await signJwt(rotated, claims());
      expect(await v.verify(token)).toEqual({ ok: false, reason: 'unknown-kid' });
      const before = jwksRequests();
      expect(before).toBeGreaterThanOrEqual(1);

      published = [rsa, rotated];
      await sleep(350);
      expect(await v.verify(token)).toMatchObject({ ok: true, claims: { sub: 'svc-a' } });
      expect(jwksRequests()).toBe(before + 1);
    });

    it('coalesces a cold-start burst of unknown kids into one JWKS request, then stays quiet', async () => {
      const v = verifier();
      const burst = async (prefix: string) =>
        Promise.all(
          Array.from({ length: 20 }, async (_, i) => v.verify(await signJwt(rsa, claims(), { kid: `${prefix}-${i}` }))),
        );
      for (const result of await burst('a')) expect(result).toEqual({ ok: false, reason: 'unknown-kid' });
      expect(jwksRequests()).toBe(1);
      for (const result of await burst('b')) expect(result).toEqual({ ok: false, reason: 'unknown-kid' });
      expect(jwksRequests()).toBe(1);
    });

    it('after the cooldown, a burst of unknown kids triggers exactly one refetch', async () => {
      const v = verifier({ cooldownDurationMs: 300 });
      expect(await v.verify(await signJwt(rsa, claims()))).toMatchObject({ ok: true });
      expect(jwksRequests()).toBe(1);
      const tokens = await Promise.all(
        Array.from({ length: 20 }, (_, i) => signJwt(rsa, claims(), { kid: `unknown-${i}` })),
      );
      await sleep(350);
      const results = await Promise.all(tokens.map((token) => v.verify(token)));
      for (const result of results) expect(result).toEqual({ ok: false, reason: 'unknown-kid' });
      expect(jwksRequests()).toBe(2);
    });

    it('treats a token without kid as unknown-kid when several published keys could match', async () => {
      const second = await makeKey('rsa-3', 'RS256');
      published = [rsa, second];
      const token = await signJwt(rsa, claims(), { kid: undefined });
      expect(await verifier().verify(token)).toEqual({ ok: false, reason: 'unknown-kid' });
    });
  });

  describe('algorithms', () => {
    it('refuses an unsigned alg:none token', async () => {
      const header = base64url(JSON.stringify({ alg: 'none', typ: 'JWT', kid: rsa.kid }));
      const token = `${header}.${base64url(JSON.stringify(claims()))}.`;
      const result = await verifier().verify(token);
      expect(result.ok).toBe(false);
      expect(['alg-not-allowed', 'malformed']).toContain(!result.ok && result.reason);
      expect(jwksRequests()).toBe(0);
    });

    it('refuses an HS256 token whose HMAC secret is the public key', async () => {
      const jose = await loadJose();
      const spki = new TextEncoder().encode(await jose.exportSPKI(rsa.publicKey));
      const modulus = Buffer.from(String(rsa.publicJwk.n), 'base64url');
      for (const secret of [spki, new Uint8Array(modulus)]) {
        const token = await new jose.SignJWT(claims())
          .setProtectedHeader({ alg: 'HS256', kid: rsa.kid, typ: 'JWT' })
          .sign(secret);
        expect(await verifier().verify(token)).toEqual({ ok: false, reason: 'alg-not-allowed' });
      }
    });

    it('refuses an algorithm outside the allowlist even when the key is published', async () => {
      const v = verifier({ algorithms: ['RS256'] });
      expect(await v.verify(await signJwt(ec, claims()))).toEqual({ ok: false, reason: 'alg-not-allowed' });
      expect(await v.verify(await signJwt(rsa, claims()))).toMatchObject({ ok: true });
    });

    it.each([['HS256'], ['HS512'], ['hs384'], ['none'], ['NONE']])('refuses %s in the allowlist', (alg) => {
      expect(() => verifier({ algorithms: ['RS256', alg] })).toThrow(/not allowed.*HMAC/s);
    });

    it('refuses an empty or unknown allowlist and other bad settings', () => {
      expect(() => verifier({ algorithms: [] })).toThrow(/must not be empty/);
      expect(() => verifier({ algorithms: ['RS257'] })).toThrow(/unknown algorithm/);
      expect(() => verifier({ clockToleranceSeconds: 61 })).toThrow(/clockToleranceSeconds/);
      expect(() => verifier({ clockToleranceSeconds: -1 })).toThrow(/clockToleranceSeconds/);
      expect(() => verifier({ issuer: [] })).toThrow(/issuer/);
      expect(() => verifier({ audience: '' })).toThrow(/audience/);
      expect(() => verifier({ jwksUri: 'file:///etc/passwd' })).toThrow(/http/);
      expect(() => verifier({ cooldownDurationMs: -5 })).toThrow(/cooldownDurationMs/);
    });
  });

  describe('claims', () => {
    it('refuses a token for another audience', async () => {
      const token = await signJwt(rsa, claims({ aud: 'https://someone-else.example' }));
      expect(await verifier().verify(token)).toEqual({ ok: false, reason: 'wrong-audience' });
    });

    it('refuses a token from another issuer', async () => {
      const token = await signJwt(rsa, claims({ iss: 'https://evil.example' }));
      expect(await verifier().verify(token)).toEqual({ ok: false, reason: 'wrong-issuer' });
    });

    it('refuses a token that expired beyond the clock tolerance', async () => {
      const token = await signJwt(rsa, claims({ iat: nowSeconds() - 600, exp: nowSeconds() - 120 }));
      expect(await verifier().verify(token)).toEqual({ ok: false, reason: 'expired' });
    });

    it('accepts a token that expired within the clock tolerance', async () => {
      const token = await signJwt(rsa, claims({ iat: nowSeconds() - 600, exp: nowSeconds() - 20 }));
      expect(await verifier().verify(token)).toMatchObject({ ok: true });
      expect(await verifier({ clockToleranceSeconds: 0 }).verify(token)).toEqual({ ok: false, reason: 'expired' });
    });

    it('refuses a token that is not yet valid, allowing for clock tolerance', async () => {
      const early = await signJwt(rsa, claims({ nbf: nowSeconds() + 300 }));
      expect(await verifier().verify(early)).toEqual({ ok: false, reason: 'not-yet-valid' });
      const skewed = await signJwt(rsa, claims({ nbf: nowSeconds() + 20 }));
      expect(await verifier().verify(skewed)).toMatchObject({ ok: true });
    });

    it('refuses a token without exp', async () => {
      const token = await signJwt(rsa, claims({ exp: undefined }));
      expect(await verifier().verify(token)).toEqual({ ok: false, reason: 'missing-claim' });
    });

    it('refuses a token without an additionally required claim, or without aud or iss', async () => {
      const v = verifier({ requiredClaims: ['sub'] });
      for (const missing of ['sub', 'aud', 'iss']) {
        const token = await signJwt(rsa, claims({ [missing]: undefined }));
        expect(await v.verify(token)).toEqual({ ok: false, reason: 'missing-claim' });
      }
    });

    it('refuses a token whose exp is not a number', async () => {
      const token = await signJwt(rsa, claims({ exp: 'tomorrow' as unknown as number }));
      expect(await verifier().verify(token)).toEqual({ ok: false, reason: 'malformed' });
    });
  });

  describe('malformed input', () => {
    it.each([
      ['empty', ''],
      ['not a JWT', 'hello'],
      ['garbage segments', 'a.b.c'],
      ['two segments', 'eyJhbGciOiJSUzI1NiJ9.e30'],
      ['a JSON payload that is not an object', `${base64url('{"alg":"RS256","kid":"rsa-1"}')}.${base64url('[]')}.AA`],
      ['oversized', 'a'.repeat(20_000)],
    ])('%s → malformed, without throwing', async (_name, token) => {
      const result = await verifier().verify(token);
      expect(result.ok).toBe(false);
      expect(['malformed', 'bad-signature']).toContain(!result.ok && result.reason);
    });

    it('malformed header segment → malformed', async () => {
      expect(await verifier().verify('bm90LWpzb24.e30.AA')).toEqual({ ok: false, reason: 'malformed' });
    });
  });

  describe('JWKS availability', () => {
    it('reports jwks-unavailable when the JWKS endpoint fails, and recovers a second later', async () => {
      let status = 503;
      server.route('GET', '/flaky-jwks', () =>
        status === 200 ? { json: { keys: [rsa.publicJwk] } } : { status, text: 'down' },
      );
      let clock = Date.now();
      const v = verifier({ jwksUri: server.url('/flaky-jwks'), now: () => clock });
      const token = await signJwt(rsa, claims());
      expect(await v.verify(token)).toEqual({ ok: false, reason: 'jwks-unavailable' });
      status = 200;
      // Without keys, the set is fetched again at most once a second, whatever arrives meanwhile.
      expect(await v.verify(token)).toEqual({ ok: false, reason: 'jwks-unavailable' });
      clock += 1000;
      expect(await v.verify(token)).toMatchObject({ ok: true });
    });

    it('reports jwks-unavailable when the JWKS is not JSON or not a key set', async () => {
      server.route('GET', '/text-jwks', () => ({ text: '<html>' }));
      server.route('GET', '/bad-jwks', () => ({ json: { keys: 'none' } }));
      const token = await signJwt(rsa, claims());
      for (const path of ['/text-jwks', '/bad-jwks']) {
        expect(await verifier({ jwksUri: server.url(path) }).verify(token)).toEqual({
          ok: false,
          reason: 'jwks-unavailable',
        });
      }
    });

    it('reports jwks-unavailable when nothing listens', async () => {
      const token = await signJwt(rsa, claims());
      expect(await verifier({ jwksUri: await closedUrl('/jwks') }).verify(token)).toEqual({
        ok: false,
        reason: 'jwks-unavailable',
      });
    });

    it('reports jwks-unavailable when the JWKS request times out', async () => {
      server.route('GET', '/slow-jwks', () => 'hang');
      const token = await signJwt(rsa, claims());
      expect(await verifier({ jwksUri: server.url('/slow-jwks'), jwksTimeoutMs: 200 }).verify(token)).toEqual({
        ok: false,
        reason: 'jwks-unavailable',
      });
    });

    it('resolves a lazy jwksUri, retrying after the resolver fails', async () => {
      let calls = 0;
      const v = verifier({
        jwksUri: () => {
          calls += 1;
          return calls === 1 ? Promise.reject(new Error('discovery down')) : Promise.resolve(server.url(JWKS));
        },
      });
      const token = await signJwt(rsa, claims());
      expect(await v.verify(token)).toEqual({ ok: false, reason: 'jwks-unavailable' });
      expect(await v.verify(token)).toMatchObject({ ok: true });
      expect(await v.verify(token)).toMatchObject({ ok: true });
      expect(calls).toBe(2);
    });

    it('sends JWKS requests through a supplied fetch', async () => {
      const seen: string[] = [];
      const v = verifier({
        fetchImpl: (url, init) => {
          seen.push(url);
          return fetch(url, init);
        },
      });
      expect(await v.verify(await signJwt(rsa, claims()))).toMatchObject({ ok: true });
      expect(seen).toEqual([server.url(JWKS)]);
    });
  });
});

describe('JwtVerifier token claims (issue 18)', () => {
  const typ = (value: string | undefined) => ({ typ: value });

  describe('iat', () => {
    it('refuses an iat in the future beyond the clock tolerance', async () => {
      const token = await signJwt(rsa, claims({ iat: nowSeconds() + 120 }));
      expect(await verifier().verify(token)).toEqual({ ok: false, reason: 'issued-in-future' });
    });

    it('accepts an iat in the future within the clock tolerance', async () => {
      expect(await verifier().verify(await signJwt(rsa, claims({ iat: nowSeconds() + 30 })))).toMatchObject({
        ok: true,
      });
    });
  });

  describe('maximum lifetime', () => {
    it('refuses an exp more than 24 h ahead by default', async () => {
      const token = await signJwt(rsa, claims({ iat: undefined, exp: nowSeconds() + 25 * 3600 }));
      expect(await verifier().verify(token)).toEqual({ ok: false, reason: 'lifetime-too-long' });
    });

    it('applies a configured maximum to exp - now (plus tolerance) and to exp - iat', async () => {
      const v = verifier({ maxLifetimeSeconds: 3600 });
      const now = nowSeconds();
      expect(await v.verify(await signJwt(rsa, claims({ iat: now, exp: now + 3600 })))).toMatchObject({ ok: true });
      expect(await v.verify(await signJwt(rsa, claims({ iat: undefined, exp: now + 3700 })))).toEqual({
        ok: false,
        reason: 'lifetime-too-long',
      });
      // Still valid for 5 minutes, but issued with a 2 h lifetime.
      expect(await v.verify(await signJwt(rsa, claims({ iat: now - 6900, exp: now + 300 })))).toEqual({
        ok: false,
        reason: 'lifetime-too-long',
      });
    });

    it('refuses an out-of-range maximum', () => {
      expect(() => verifier({ maxLifetimeSeconds: 0 })).toThrow(/maxLifetimeSeconds/);
      expect(() => verifier({ maxLifetimeSeconds: 31 * 24 * 3600 })).toThrow(/maxLifetimeSeconds/);
    });
  });

  describe('token type', () => {
    it.each([[undefined], ['JWT'], ['at+jwt'], ['application/at+jwt']])(
      'an access-token verifier accepts typ %s',
      async (value) => {
        expect(await verifier().verify(await signJwt(rsa, claims(), typ(value)))).toMatchObject({ ok: true });
      },
    );

    it.each([['nonce'], ['at_hash'], ['c_hash'], ['s_hash']])(
      'an access-token verifier refuses an OpenID Connect ID token (with %s)',
      async (claim) => {
        const token = await signJwt(rsa, claims({ [claim]: 'x' }));
        expect(await verifier().verify(token)).toEqual({ ok: false, reason: 'wrong-token-type' });
      },
    );

    it('an access-token verifier refuses another explicit type', async () => {
      for (const value of ['logout+jwt', 'secevent+jwt', 'dpop+jwt']) {
        expect(await verifier().verify(await signJwt(rsa, claims(), typ(value)))).toEqual({
          ok: false,
          reason: 'wrong-token-type',
        });
      }
    });

    it('refuses a signed header whose typ is not a string, for every kind (no exception reaches the caller)', async () => {
      for (const expectedKind of ['access', 'rfc9068-access', 'identity'] as const) {
        for (const value of [123, ['JWT'], null, { t: 'JWT' }]) {
          const header = { typ: value } as unknown as Partial<JWTHeaderParameters>;
          expect(await verifier({ expectedKind }).verify(await signJwt(rsa, claims(), header))).toEqual({
            ok: false,
            reason: 'wrong-token-type',
          });
        }
      }
    });

    it('an RFC 9068 verifier accepts only at+jwt, in either spelling and any case', async () => {
      const v = verifier({ expectedKind: 'rfc9068-access' });
      for (const value of ['at+jwt', 'application/at+jwt', 'AT+JWT']) {
        expect(await v.verify(await signJwt(rsa, claims(), typ(value)))).toMatchObject({ ok: true });
      }
      for (const value of [undefined, 'JWT', 'jwt+at']) {
        expect(await v.verify(await signJwt(rsa, claims(), typ(value)))).toEqual({
          ok: false,
          reason: 'wrong-token-type',
        });
      }
    });

    it('an RFC 9068 verifier requires iat and sub', async () => {
      const v = verifier({ expectedKind: 'rfc9068-access' });
      for (const missing of ['iat', 'sub']) {
        const token = await signJwt(rsa, claims({ [missing]: undefined }), typ('at+jwt'));
        expect(await v.verify(token)).toEqual({ ok: false, reason: 'missing-claim' });
      }
    });

    it('an identity-token verifier refuses an access token and accepts JWT or no typ', async () => {
      const v = verifier({ expectedKind: 'identity' });
      for (const value of ['at+jwt', 'application/at+jwt', 'logout+jwt']) {
        expect(await v.verify(await signJwt(rsa, claims(), typ(value)))).toEqual({
          ok: false,
          reason: 'wrong-token-type',
        });
      }
      for (const value of [undefined, 'JWT']) {
        expect(await v.verify(await signJwt(rsa, claims({ nonce: 'n' }), typ(value)))).toMatchObject({ ok: true });
      }
    });
  });
});
