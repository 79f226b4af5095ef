import { discoverJwksUri, OidcDiscovery, OidcDiscoveryError } from './oidc-discovery';
import { closedUrl, LocalServer, type Reply } from './testing/local-server';

const WELL_KNOWN = '/.well-known/openid-configuration';

let server: LocalServer;

beforeAll(async () => {
  server = await LocalServer.start();
});

afterAll(() => server.close());

beforeEach(() => server.reset());

/** Serves a discovery document for `issuer` (a URL on the local server) at `${issuer}${WELL_KNOWN}`. */
function serveDiscovery(issuerPath: string, reply?: () => Reply): string {
  const issuer = server.url(issuerPath);
  server.route(
    'GET',
    `${issuerPath}${WELL_KNOWN}`,
    reply ??
      (() => ({ json: { issuer, jwks_uri: `${issuer}/openid/v1/jwks`, response_types_supported: ['id_token'] } })),
  );
  return issuer;
}

describe('discoverJwksUri', () => {
  it('returns the jwks_uri of the discovery document', async () => {
    const issuer = serveDiscovery('/cluster-a');
    await expect(discoverJwksUri(issuer)).resolves.toBe(`${issuer}/openid/v1/jwks`);
    const [request] = server.requests(`/cluster-a${WELL_KNOWN}`);
    expect(request.method).toBe('GET');
    expect(request.headers.accept).toBe('application/json');
  });

  it('handles an issuer with a trailing slash', async () => {
    const issuer = `${server.url('/cluster-b')}/`;
    server.route('GET', `/cluster-b${WELL_KNOWN}`, () => ({ json: { issuer, jwks_uri: server.url('/keys') } }));
    await expect(discoverJwksUri(issuer)).resolves.toBe(server.url('/keys'));
  });

  it('refuses a document naming another issuer', async () => {
    const issuer = serveDiscovery('/cluster-c', () => ({
      json: { issuer: 'https://evil.example', jwks_uri: 'https://evil.example/jwks' },
    }));
    await expect(discoverJwksUri(issuer)).rejects.toThrow(/names issuer "https:\/\/evil.example"/);
  });

  it.each<[string, (issuer: string) => Reply, RegExp]>([
    ['no jwks_uri', (issuer) => ({ json: { issuer } }), /no jwks_uri/],
    ['a non-http jwks_uri', (issuer) => ({ json: { issuer, jwks_uri: 'file:///keys' } }), /http/],
    [
      'a plain-http jwks_uri off the machine',
      (issuer) => ({ json: { issuer, jwks_uri: 'http://keys.example/jwks' } }),
      /must be https \(http only to a loopback address\)/,
    ],
    ['no issuer', () => ({ json: { jwks_uri: server.url('/keys') } }), /names issuer undefined/],
    ['a JSON array', () => ({ json: [] }), /not a JSON object/],
    ['not JSON', () => ({ text: 'hello' }), /failed/],
    ['HTTP 500', () => ({ status: 500, text: 'oops' }), /HTTP 500/],
    ['a redirect', () => ({ status: 302, headers: { location: server.url('/elsewhere') } }), /redirect/],
  ])('refuses %s', async (_name, reply, message) => {
    const issuer = serveDiscovery('/cluster-d', () => reply(server.url('/cluster-d')));
    const attempt = discoverJwksUri(issuer);
    await expect(attempt).rejects.toBeInstanceOf(OidcDiscoveryError);
    await expect(attempt).rejects.toThrow(message);
  });

  it('reports an unreachable issuer', async () => {
    const issuer = await closedUrl('/k8s');
    await expect(discoverJwksUri(issuer)).rejects.toThrow(OidcDiscoveryError);
  });

  it('times out', async () => {
    const issuer = serveDiscovery('/slow', () => 'hang');
    await expect(discoverJwksUri(issuer, fetch, { timeoutMs: 100 })).rejects.toThrow(OidcDiscoveryError);
  });

  it('uses the supplied fetch', async () => {
    const issuer = serveDiscovery('/authenticated');
    await discoverJwksUri(issuer, (url, init) =>
      fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: 'Bearer sa' } }),
    );
    expect(server.requests(`/authenticated${WELL_KNOWN}`)[0].headers.authorization).toBe('Bearer sa');
  });
});

describe('OidcDiscovery', () => {
  it('fetches each issuer once, sharing concurrent lookups', async () => {
    const a = serveDiscovery('/a');
    const b = serveDiscovery('/b');
    const discovery = new OidcDiscovery();
    const results = await Promise.all([discovery.jwksUri(a), discovery.jwksUri(a), discovery.jwksUri(b)]);
    expect(results).toEqual([`${a}/openid/v1/jwks`, `${a}/openid/v1/jwks`, `${b}/openid/v1/jwks`]);
    await expect(discovery.jwksUri(a)).resolves.toBe(`${a}/openid/v1/jwks`);
    expect(server.count(`/a${WELL_KNOWN}`)).toBe(1);
    expect(server.count(`/b${WELL_KNOWN}`)).toBe(1);
  });

  it('does not keep a failure: it fails fast for retryAfterFailureMs, then retries', async () => {
    let up = false;
    const issuer = serveDiscovery('/flaky', () =>
      up ? { json: { issuer: server.url('/flaky'), jwks_uri: server.url('/flaky/jwks') } } : { status: 503 },
    );
    let now = 1_000_000;
    const discovery = new OidcDiscovery({ retryAfterFailureMs: 5_000, now: () => now });

    await expect(discovery.jwksUri(issuer)).rejects.toThrow(/HTTP 503/);
    up = true;
    await expect(discovery.jwksUri(issuer)).rejects.toThrow(/HTTP 503/);
    expect(server.count(`/flaky${WELL_KNOWN}`)).toBe(1);

    now += 5_000;
    await expect(discovery.jwksUri(issuer)).resolves.toBe(server.url('/flaky/jwks'));
    await expect(discovery.jwksUri(issuer)).resolves.toBe(server.url('/flaky/jwks'));
    expect(server.count(`/flaky${WELL_KNOWN}`)).toBe(2);
  });

  it('retries immediately when retryAfterFailureMs is 0', async () => {
    let calls = 0;
    const issuer = serveDiscovery('/once-down', () => {
      calls += 1;
      return calls === 1 ? { status: 500 } : { json: { issuer: server.url('/once-down'), jwks_uri: server.url('/k') } };
    });
    const discovery = new OidcDiscovery({ retryAfterFailureMs: 0 });
    await expect(discovery.jwksUri(issuer)).rejects.toThrow(OidcDiscoveryError);
    await expect(discovery.jwksUri(issuer)).resolves.toBe(server.url('/k'));
  });
});
