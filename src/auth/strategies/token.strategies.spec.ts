import type { ConnectionSecurity } from '../auth-attempt';
import type { RegisteredCaller } from '../callers/caller';
import { CallerRegistry } from '../callers/caller-registry';
import { LocalServer, makeKey, nowSeconds, serveJwks, signJwt, type TestKey } from '../tokens/testing/local-server';
import { OidcDiscovery } from '../tokens/oidc-discovery';
import { TokenStrategies } from './token.strategies';

const ISSUER = 'https://idp.bank.example/';
const AUDIENCE = 'webhook-fulfillment';

describe('TokenStrategies.verifyJwt (a real JWKS on 127.0.0.1)', () => {
  let server: LocalServer;
  let key: TestKey;

  beforeAll(async () => {
    server = await LocalServer.start();
    key = await makeKey('k1');
    serveJwks(server, '/jwks', () => [key]);
  });
  afterAll(() => server.close());

  /** Two callers trusting one issuer and audience, each bound to its own client certificate; the first any subject. */
  function strategies(): TokenStrategies {
    const jwt = (subjects: string[]) => ({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: server.url('/jwks'),
      algorithms: ['RS256'],
      subjects,
      requireAccessTokenType: false,
    });
    const bound = (cn: string) => ({ subjectCNs: [cn], dnsSANs: [], uriSANs: [] });
    const callers: RegisteredCaller[] = [
      { id: 'bot-a', platforms: ['generic'], certificate: bound('bot-a'), auth: { jwt: jwt([]) } },
      { id: 'bot-b', platforms: ['generic'], certificate: bound('bot-b'), auth: { jwt: jwt(['svc-b']) } },
    ];
    return new TokenStrategies(new CallerRegistry(callers, 'callers.yaml'), new OidcDiscovery());
  }
  const presenting = (cn: string): ConnectionSecurity => ({
    encrypted: true,
    clientCertificateVerified: true,
    peer: { subjectCN: cn, dnsSANs: [], uriSANs: [] },
  });
  const token = () =>
    signJwt(key, { iss: ISSUER, aud: AUDIENCE, sub: 'svc-b', iat: nowSeconds(), exp: nowSeconds() + 300 });

  it('names the caller whose certificate the connection presents, not the first one listed that verifies', async () => {
    // Before, bot-a (listed first, any subject) took bot-b's token and was then refused as a certificate mismatch.
    await expect(strategies().verifyJwt(await token(), presenting('bot-b'))).resolves.toMatchObject({
      ok: true,
      caller: { id: 'bot-b' },
    });
    await expect(strategies().verifyJwt(await token(), presenting('bot-a'))).resolves.toMatchObject({
      ok: true,
      caller: { id: 'bot-a' },
    });
  });

  it('refuses a token of callers all bound to certificates the connection did not present', async () => {
    await expect(strategies().verifyJwt(await token(), presenting('someone-else'))).resolves.toEqual({
      ok: false,
      reason: 'certificate-mismatch',
      detail: 'bot-a',
    });
  });
});
