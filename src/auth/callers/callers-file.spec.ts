import 'reflect-metadata';

import { CallersFileError, parseCallers } from './callers-file';

const SOURCE = '/etc/webhook/callers.yaml';

function parse(auth: string) {
  return parseCallers(`callers:\n  - id: a\n    platforms: [generic]\n    auth: ${auth}\n`, SOURCE)[0]?.auth;
}

function problemsOf(auth: string): string[] {
  try {
    parse(auth);
  } catch (error: unknown) {
    expect(error).toBeInstanceOf(CallersFileError);
    return (error as CallersFileError).problems;
  }
  throw new Error('expected a CallersFileError');
}

const JWT = 'issuer: https://idp.example, audience: webhook, jwksUri: https://idp.example/jwks';
const K8S =
  'issuer: https://kubernetes.default.svc, audience: webhook, serviceAccounts: ["system:serviceaccount:bots:df"]';

describe('callers file: token options (issue 18)', () => {
  it('defaults: any access-token typ, default lifetime, no TokenReview', () => {
    expect(parse(`{ jwt: { ${JWT} } }`)?.jwt).toMatchObject({ requireAccessTokenType: false });
    expect(parse(`{ jwt: { ${JWT} } }`)?.jwt?.maxLifetimeSeconds).toBeUndefined();
    expect(parse(`{ kubernetes: { ${K8S} } }`)?.kubernetes?.tokenReview).toBeUndefined();
  });

  it('reads requireAccessTokenType and maxLifetimeSeconds', () => {
    const auth = parse(`{ jwt: { ${JWT}, requireAccessTokenType: true, maxLifetimeSeconds: 3600 } }`);
    expect(auth?.jwt).toMatchObject({ requireAccessTokenType: true, maxLifetimeSeconds: 3600 });
  });

  it('refuses a maxLifetimeSeconds outside 60..2592000', () => {
    expect(problemsOf(`{ jwt: { ${JWT}, maxLifetimeSeconds: 30 } }`)).toEqual([
      `CALLERS_FILE ${SOURCE}: callers[0].auth.jwt.maxLifetimeSeconds: must be an integer from 60 to 2592000`,
    ]);
    expect(
      problemsOf(`{ googleIdToken: { audience: x, emails: [a@b.c], maxLifetimeSeconds: 99999999 } }`),
    ).toHaveLength(1);
  });

  it('tokenReview: {} means the in-cluster API server with this pod’s own token and CA', () => {
    expect(parse(`{ kubernetes: { ${K8S}, tokenReview: {} } }`)?.kubernetes?.tokenReview).toEqual({
      url: 'https://kubernetes.default.svc',
      tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
    });
  });

  it('refuses a plain-http TokenReview URL and unknown tokenReview settings', () => {
    expect(problemsOf(`{ kubernetes: { ${K8S}, tokenReview: { url: "http://10.0.0.1" } } }`)).toEqual([
      `CALLERS_FILE ${SOURCE}: callers[0].auth.kubernetes.tokenReview.url: must be https`,
    ]);
    expect(problemsOf(`{ kubernetes: { ${K8S}, tokenReview: { insecure: true } } }`)).toEqual([
      `CALLERS_FILE ${SOURCE}: callers[0].auth.kubernetes.tokenReview.insecure: is not a known setting`,
    ]);
  });
});

describe('callers file: rateLimit.routes (issue 18)', () => {
  const caller = (rateLimit: string) =>
    `callers:\n  - id: bank-bot\n    platforms: [generic]\n    auth: { bearer: { tokens: [t0123456789abcdef] } }\n    rateLimit: ${rateLimit}\n`;

  function problems(rateLimit: string): string[] {
    try {
      parseCallers(caller(rateLimit), SOURCE);
    } catch (error: unknown) {
      expect(error).toBeInstanceOf(CallersFileError);
      return (error as CallersFileError).problems;
    }
    throw new Error('expected a CallersFileError');
  }

  it('reads per-route budgets for HTTP routes and gRPC methods beside the caller budget', () => {
    const [parsed] = parseCallers(
      caller(
        "{ requests: 600, perSeconds: 60, routes: { 'POST /v1/webhooks/generic': { requests: 10, perSeconds: 30 }, " +
          "'fulfillment.v1.FulfillmentService/Fulfill': { requests: 5, perSeconds: 60 } } }",
      ),
      SOURCE,
    );
    expect(parsed.rateLimit).toMatchObject({ limit: 600, ttlSeconds: 60 });
    expect([...(parsed.rateLimit?.routes ?? [])]).toEqual([
      ['POST /v1/webhooks/generic', { limit: 10, ttlSeconds: 30 }],
      ['fulfillment.v1.FulfillmentService/Fulfill', { limit: 5, ttlSeconds: 60 }],
    ]);
  });

  it('refuses an unknown route, naming the caller and the routes that exist', () => {
    const [problem, ...rest] = problems(
      "{ requests: 600, perSeconds: 60, routes: { 'POST /v1/webhooks/generc': { requests: 10, perSeconds: 30 } } }",
    );
    expect(rest).toEqual([]);
    expect(problem).toContain(
      `CALLERS_FILE ${SOURCE}: callers[0].rateLimit.routes: caller "bank-bot": "POST /v1/webhooks/generc"`,
    );
    expect(problem).toContain('"POST /v1/webhooks/generic"');
    expect(problem).toContain('"fulfillment.v1.FulfillmentService/HandleWebhook"');
  });

  it('refuses a route budget without requests/perSeconds, unknown route settings, and routes without a caller budget', () => {
    expect(
      problems("{ requests: 6, perSeconds: 60, routes: { 'GET /v1/fulfillments/:id': { requests: 0, burst: 1 } } }"),
    ).toEqual([
      `CALLERS_FILE ${SOURCE}: callers[0].rateLimit.routes.GET /v1/fulfillments/:id.burst: is not a known setting`,
      `CALLERS_FILE ${SOURCE}: callers[0].rateLimit.routes.GET /v1/fulfillments/:id.requests: must be an integer from 1 to 1000000`,
      `CALLERS_FILE ${SOURCE}: callers[0].rateLimit.routes.GET /v1/fulfillments/:id.perSeconds: must be an integer from 1 to 86400`,
    ]);
    expect(problems("{ routes: { 'POST /v1/webhooks/generic': { requests: 1, perSeconds: 1 } } }")).toEqual([
      `CALLERS_FILE ${SOURCE}: callers[0].rateLimit.requests: must be an integer from 1 to 1000000`,
      `CALLERS_FILE ${SOURCE}: callers[0].rateLimit.perSeconds: must be an integer from 1 to 86400`,
    ]);
  });

  it('refuses at load a JWT algorithm the verifier cannot use (it failed every token with a 401), whatever its case', () => {
    const algorithms = (list: string) => problemsOf(`{ jwt: { ${JWT}, algorithms: [${list}] } }`);
    expect(algorithms('rs256')[0]).toContain('callers[0].auth.jwt.algorithms: unknown algorithm "rs256"');
    expect(algorithms('RS265')[0]).toContain('unknown algorithm "RS265"');
    expect(algorithms('hs256')[0]).toContain('algorithm "hs256" is not allowed');
    expect(algorithms('none')[0]).toContain('algorithm "none" is not allowed');
    expect(parse(`{ jwt: { ${JWT}, algorithms: [RS256, ES384, EdDSA] } }`)?.jwt?.algorithms).toEqual([
      'RS256',
      'ES384',
      'EdDSA',
    ]);
  });

  it('refuses at load a password hash that would never match (a cost outside what the check pays, a short key)', () => {
    const salt = Buffer.alloc(16, 1).toString('base64');
    const key = Buffer.alloc(32, 2).toString('base64');
    const basic = (hash: string) => problemsOf(`{ basic: { username: bot, passwordHashes: ['${hash}'] } }`);
    expect(basic(`scrypt$30000$8$1$${salt}$${key}`)).toEqual([
      `CALLERS_FILE ${SOURCE}: callers[0].auth.basic.passwordHashes[0]: has N=30000: it must be a power of two from 16384 to 131072`,
    ]);
    expect(basic(`scrypt$2$8$1$${salt}$${key}`)[0]).toContain('has N=2');
    expect(basic(`scrypt$1048576$8$1$${salt}$${key}`)[0]).toContain('has N=1048576');
    expect(basic(`scrypt$32768$64$1$${salt}$${key}`)[0]).toContain('has r=64');
    // Each in range, but scrypt needs more than the 256 MiB a check may use: every check failed (a locked-out caller).
    expect(basic(`scrypt$131072$16$1$${salt}$${key}`)[0]).toContain(
      'has N=131072, r=16, p=1: a check would need 268441600 bytes, more than the 256 MiB',
    );
    expect(
      parse(`{ basic: { username: bot, passwordHashes: ['scrypt$131072$15$4$${salt}$${key}'] } }`)?.basic,
    ).toBeDefined();
    expect(basic(`scrypt$32768$8$1$${salt}$${Buffer.alloc(16).toString('base64')}`)[0]).toContain('another length');
    expect(
      parse(`{ basic: { username: bot, passwordHashes: ['scrypt$32768$8$1$${salt}$${key}'] } }`)?.basic,
    ).toBeDefined();
  });

  it('refuses an introspection caller bound to nothing: any active token of the server would be it', () => {
    const endpoint =
      'endpoint: https://as.example/introspect, clientId: c, clientSecrets: [a-long-secret-value-0123456789]';
    expect(problemsOf(`{ introspection: { ${endpoint} } }`)).toEqual([
      `CALLERS_FILE ${SOURCE}: callers[0].auth.introspection: needs an audience, subjects or clientIds: without one, ` +
        'any active token the authorisation server issued, to any client, would be taken as this caller',
    ]);
    expect(parse(`{ introspection: { ${endpoint}, audience: webhook } }`)?.introspection?.audience).toBe('webhook');
    expect(parse(`{ introspection: { ${endpoint}, subjects: [svc] } }`)?.introspection?.subjects).toEqual(['svc']);
    expect(parse(`{ introspection: { ${endpoint}, clientIds: [bot] } }`)?.introspection).toMatchObject({
      clientIds: ['bot'],
      subjects: [],
    });
  });

  it('refuses a setting no method knows, so a mistyped check is not silently left out', () => {
    expect(problemsOf(`{ jwt: { ${JWT}, subject: [svc] } }`)).toEqual([
      `CALLERS_FILE ${SOURCE}: callers[0].auth.jwt.subject: is not a known setting`,
    ]);
    expect(
      problemsOf(
        '{ introspection: { endpoint: https://as.example/i, clientId: c, clientSecrets: [a-long-secret-value-0123456789], audiance: w, subjects: [s] } }',
      ),
    ).toEqual([`CALLERS_FILE ${SOURCE}: callers[0].auth.introspection.audiance: is not a known setting`]);
    expect(problemsOf('{ mtls: { subjectCN: bot } }')).toEqual([
      `CALLERS_FILE ${SOURCE}: callers[0].auth.mtls.subjectCN: is not a known setting`,
      `CALLERS_FILE ${SOURCE}: callers[0].auth.mtls: needs a "certificate" naming the identity the client certificate must have`,
    ]);
    expect(problemsOf('{ bearer: { tokens: [a-long-static-token-0123456789], token: x } }')).toEqual([
      `CALLERS_FILE ${SOURCE}: callers[0].auth.bearer.token: is not a known setting`,
    ]);
    expect(problemsOf(`{ kubernetes: { ${K8S}, serviceAccount: x } }`)).toEqual([
      `CALLERS_FILE ${SOURCE}: callers[0].auth.kubernetes.serviceAccount: is not a known setting`,
    ]);
  });

  it('refuses plain http where keys come from or tokens go, except to a loopback address (a sidecar)', () => {
    const clear = 'must be https (http only to a loopback address: keys and tokens would cross the network in clear)';
    expect(
      problemsOf('{ jwt: { issuer: https://idp.example, audience: w, jwksUri: http://idp.example/jwks } }'),
    ).toEqual([`CALLERS_FILE ${SOURCE}: callers[0].auth.jwt.jwksUri: ${clear}`]);
    expect(
      problemsOf(
        '{ introspection: { endpoint: http://as.example/introspect, clientId: c, clientSecrets: [a-long-secret-value-0123456789], subjects: [s] } }',
      ),
    ).toEqual([`CALLERS_FILE ${SOURCE}: callers[0].auth.introspection.endpoint: ${clear}`]);
    expect(
      problemsOf(
        '{ kubernetes: { issuer: http://k8s.example, audience: w, serviceAccounts: [system:serviceaccount:a:b] } }',
      ),
    ).toEqual([`CALLERS_FILE ${SOURCE}: callers[0].auth.kubernetes.issuer: ${clear}`]);
    expect(problemsOf('{ googleIdToken: { audience: x, emails: [a@b.c], jwksUri: http://keys.example } }')).toEqual([
      `CALLERS_FILE ${SOURCE}: callers[0].auth.googleIdToken.jwksUri: ${clear}`,
    ]);
    for (const host of ['127.0.0.1:8080', 'localhost', '[::1]:9000']) {
      const auth = parse(`{ jwt: { issuer: https://idp.example, audience: w, jwksUri: "http://${host}/jwks" } }`);
      expect(auth?.jwt?.jwksUri).toBe(`http://${host}/jwks`);
    }
  });
});

describe('callers file: callback URLs', () => {
  const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  const withCallback = (url: string) =>
    `callers:\n  - id: a\n    platforms: [generic]\n    auth: { bearer: { tokens: [a-long-token-value-0123456789] } }\n` +
    `    callback: { url: "${url}", secrets: [${SECRET}] }\n`;

  it('refuses one longer than the column its deliveries are kept in (2048), or with credentials the HTTP client would drop', () => {
    const url = `https://bot.example/${'x'.repeat(2048)}`;
    expect(() => parseCallers(withCallback(url), SOURCE)).toThrow(
      expect.objectContaining({
        problems: [`CALLERS_FILE ${SOURCE}: callers[0].callback.url: must be at most 2048 characters`],
      }),
    );
    expect(() => parseCallers(withCallback('https://bot:pa55@bot.example/results'), SOURCE)).toThrow(
      expect.objectContaining({
        problems: [
          `CALLERS_FILE ${SOURCE}: callers[0].callback.url: must not hold credentials (user:password@); callbacks are signed`,
        ],
      }),
    );
    expect(parseCallers(withCallback('https://bot.example/results'), SOURCE)[0].callback?.url).toBe(
      'https://bot.example/results',
    );
  });
});
