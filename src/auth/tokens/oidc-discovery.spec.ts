import { Logger } from '@nestjs/common';
import {
  answerWithoutEnd,
  HUGE,
  listenOnLoopback,
  MIB,
  type OversizedAnswer,
} from '../../common/http/testing/oversized-answer';
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

describe('discovery: the size of an answer', () => {
  let warnings: jest.SpyInstance;

  beforeEach(() => {
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => warnings.mockRestore());

  /** Discovers an issuer whose document is answered without end; returns the error and what the server sent. */
  async function refusal(declaredLength?: number) {
    const answers: OversizedAnswer[] = [];
    const big = await listenOnLoopback((_req, res) => {
      answers.push(answerWithoutEnd(res, { prefix: '{"jwks_uri":"https://idp.example/keys"', declaredLength }));
    });
    try {
      const issuer = big.url('/realm');
      // A long timeout: only the size limit may end the read.
      const error = await discoverJwksUri(issuer, fetch, { timeoutMs: 60_000 }).catch((e: unknown) => e);
      expect(answers).toHaveLength(1);
      return { error, answer: answers[0], location: `${issuer}${WELL_KNOWN}` };
    } finally {
      await big.close();
    }
  }

  it('refuses a document answered without end once it passes 1 MiB, and reads no further', async () => {
    const { error, answer, location } = await refusal();
    expect(error).toBeInstanceOf(OidcDiscoveryError);
    expect((error as Error).message).toContain(`${location}: the answer is larger than 1 MiB`);
    await expect(answer.outcome).resolves.toBe('client-closed');
    // Socket buffers hold a few MiB; a reader without a limit takes all 64 MiB the server offers.
    expect(answer.written()).toBeLessThan(32 * MIB);
    expect(warnings).toHaveBeenCalledWith(
      `Refused the OIDC discovery document at ${location}: the answer is larger than 1 MiB; it was not read further`,
    );
  });

  it('refuses a document whose Content-Length is over 1 MiB before reading it', async () => {
    const { error, answer, location } = await refusal(HUGE);
    expect(error).toBeInstanceOf(OidcDiscoveryError);
    expect((error as Error).message).toContain(`${location}: the answer declares ${HUGE} bytes, more than 1 MiB`);
    await expect(answer.outcome).resolves.toBe('client-closed');
    expect(answer.written()).toBeLessThan(32 * MIB);
  });
});
