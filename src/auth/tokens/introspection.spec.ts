import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import {
  answerWithoutEnd,
  HUGE,
  listenOnLoopback,
  MIB,
  type OversizedAnswer,
} from '../../common/http/testing/oversized-answer';
import { TokenIntrospector, type TokenIntrospectorOptions } from './introspection';
import { closedUrl, LocalServer, type RecordedRequest, type Reply } from './testing/local-server';

const PATH = '/oauth2/introspect';
const CLIENT_ID = 'webhook fulfillment';
const CLIENT_SECRET = 'p@ss:wörd';

let server: LocalServer;
/** The authorisation server's view of each token; anything else is inactive. */
let tokens: Map<string, Record<string, unknown>>;
let reply: (request: RecordedRequest) => Reply | Promise<Reply>;
/** Milliseconds; the introspector's clock. */
let now: number;

beforeAll(async () => {
  server = await LocalServer.start();
});

afterAll(() => server.close());

beforeEach(() => {
  server.reset();
  now = Date.now();
  const exp = Math.floor(now / 1000) + 3600;
  tokens = new Map([
    [
      'opaque-good',
      {
        active: true,
        sub: 'svc-a',
        client_id: 'bot',
        exp,
        aud: 'webhook',
        iss: 'https://as.example',
        scope: 'fulfil read',
      },
    ],
    ['opaque-no-exp', { active: true, sub: 'svc-b' }],
  ]);
  reply = (request) => {
    const token = new URLSearchParams(request.body).get('token') ?? '';
    return { json: tokens.get(token) ?? { active: false } };
  };
  server.route('POST', PATH, (request) => reply(request));
});

function introspector(overrides: Partial<TokenIntrospectorOptions> = {}): TokenIntrospector {
  return new TokenIntrospector({
    endpoint: server.url(PATH),
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    cacheSeconds: 30,
    timeoutMs: 2_000,
    now: () => now,
    ...overrides,
  });
}

function calls(): number {
  return server.count(PATH);
}

describe('TokenIntrospector', () => {
  it('accepts an active token and sends an RFC 7662 request with client authentication', async () => {
    const result = await introspector().introspect('opaque-good');
    expect(result).toEqual({
      ok: true,
      claims: {
        active: true,
        sub: 'svc-a',
        client_id: 'bot',
        exp: expect.any(Number),
        aud: 'webhook',
        iss: 'https://as.example',
        scope: 'fulfil read',
        scopes: ['fulfil', 'read'],
      },
    });

    const [request] = server.requests(PATH);
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({
      token: 'opaque-good',
      token_type_hint: 'access_token',
    });
    const credentials = Buffer.from(String(request.headers.authorization).replace(/^Basic /, ''), 'base64').toString();
    expect(credentials).toBe('webhook+fulfillment:p%40ss%3Aw%C3%B6rd');
  });

  it('refuses an inactive token', async () => {
    expect(await introspector().introspect('revoked')).toEqual({ ok: false, reason: 'inactive' });
  });

  it('caches an active result for cacheSeconds', async () => {
    const client = introspector();
    await client.introspect('opaque-good');
    now += 29_000;
    expect(await client.introspect('opaque-good')).toMatchObject({ ok: true });
    expect(calls()).toBe(1);
    now += 2_000;
    expect(await client.introspect('opaque-good')).toMatchObject({ ok: true });
    expect(calls()).toBe(2);
  });

  it('never caches an active result beyond the token exp', async () => {
    tokens.set('short-lived', { active: true, sub: 'svc-c', exp: Math.floor(now / 1000) + 5 });
    const client = introspector();
    expect(await client.introspect('short-lived')).toMatchObject({ ok: true });
    now += 6_000;
    tokens.delete('short-lived');
    expect(await client.introspect('short-lived')).toEqual({ ok: false, reason: 'inactive' });
    expect(calls()).toBe(2);
  });

  it('caches negative results briefly', async () => {
    const client = introspector({ negativeCacheSeconds: 5 });
    expect(await client.introspect('revoked')).toEqual({ ok: false, reason: 'inactive' });
    expect(await client.introspect('revoked')).toEqual({ ok: false, reason: 'inactive' });
    expect(calls()).toBe(1);
    now += 5_000;
    tokens.set('revoked', { active: true, sub: 'svc-d' });
    expect(await client.introspect('revoked')).toMatchObject({ ok: true, claims: { sub: 'svc-d' } });
    expect(calls()).toBe(2);
  });

  it('caches an inactive result for 30 s by default', async () => {
    const client = introspector();
    expect(await client.introspect('revoked')).toEqual({ ok: false, reason: 'inactive' });
    now += 29_000;
    expect(await client.introspect('revoked')).toEqual({ ok: false, reason: 'inactive' });
    expect(calls()).toBe(1);
    now += 1_000;
    await client.introspect('revoked');
    expect(calls()).toBe(2);
  });

  it('refuses new tokens over the outbound budget without a call, and refills it over time', async () => {
    const client = introspector({ maxBurst: 3, maxCallsPerSecond: 2 });
    await client.introspect('opaque-good');
    for (const token of ['random-1', 'random-2']) await client.introspect(token);
    expect(calls()).toBe(3);
    expect(await client.introspect('random-3')).toEqual({ ok: false, reason: 'introspection-throttled' });
    expect(await client.introspect('opaque-no-exp')).toEqual({ ok: false, reason: 'introspection-throttled' });
    expect(calls()).toBe(3);
    // A token already in the cache is answered whatever the budget.
    expect(await client.introspect('opaque-good')).toMatchObject({ ok: true });
    now += 500; // one lookup refilled
    expect(await client.introspect('opaque-no-exp')).toMatchObject({ ok: true });
    expect(await client.introspect('random-3')).toEqual({ ok: false, reason: 'introspection-throttled' });
    expect(calls()).toBe(4);
    now += 60_000; // never more than the burst
    for (let i = 0; i < 3; i++) expect(await client.introspect(`later-${i}`)).toMatchObject({ reason: 'inactive' });
    expect(await client.introspect('later-3')).toEqual({ ok: false, reason: 'introspection-throttled' });
    expect(calls()).toBe(7);
  });

  it('caps the lookups in flight at once', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const plain = reply;
    reply = async (request) => {
      await gate;
      return plain(request);
    };
    const client = introspector({ maxConcurrent: 2 });
    const held = [client.introspect('slow-1'), client.introspect('slow-2')];
    const sameToken = client.introspect('slow-1');
    expect(await client.introspect('slow-3')).toEqual({ ok: false, reason: 'introspection-throttled' });
    release();
    expect(await Promise.all([...held, sameToken])).toEqual(Array(3).fill({ ok: false, reason: 'inactive' }));
    expect(calls()).toBe(2);
    expect(await client.introspect('slow-3')).toEqual({ ok: false, reason: 'inactive' });
  });

  it('keys the cache by the SHA-256 of the token, never the token', async () => {
    const client = introspector();
    await client.introspect('opaque-good');
    await client.introspect('revoked');
    const keys = [...(client as unknown as { cache: Map<string, unknown> }).cache.keys()];
    const digest = (token: string) => createHash('sha256').update(token).digest('base64url');
    expect(keys.sort()).toEqual([digest('opaque-good'), digest('revoked')].sort());
  });

  it('coalesces concurrent lookups of one token into one request', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let arrived: () => void = () => undefined;
    const bothArrived = new Promise<void>((resolve) => (arrived = resolve));
    const plain = reply;
    reply = async (request) => {
      if (calls() === 2) arrived();
      await gate;
      return plain(request);
    };
    const client = introspector();
    const first = Array.from({ length: 5 }, () => client.introspect('opaque-good'));
    const other = client.introspect('opaque-no-exp');
    await bothArrived; // both requests are held at the server
    const late = Array.from({ length: 5 }, () => client.introspect('opaque-good'));
    release();
    for (const result of await Promise.all([...first, ...late])) {
      expect(result).toMatchObject({ ok: true, claims: { sub: 'svc-a' } });
    }
    expect(await other).toMatchObject({ ok: true, claims: { sub: 'svc-b' } });
    expect(calls()).toBe(2);
  });

  it('reports a timeout as introspection-unavailable and does not cache it', async () => {
    reply = () => 'hang';
    const client = introspector({ timeoutMs: 150 });
    expect(await client.introspect('opaque-good')).toEqual({ ok: false, reason: 'introspection-unavailable' });
    reply = (request) => ({ json: tokens.get(new URLSearchParams(request.body).get('token') ?? '') });
    expect(await client.introspect('opaque-good')).toMatchObject({ ok: true });
    expect(calls()).toBe(2);
  });

  it.each<[string, Reply]>([
    ['HTTP 503', { status: 503, text: 'busy' }],
    ['HTTP 500 with JSON', { status: 500, json: { active: false } }],
    ['HTTP 401 (bad client credentials)', { status: 401, json: { error: 'invalid_client' } }],
    ['a body that is not JSON', { text: '<html>' }],
    ['a body without active', { json: { sub: 'svc-a' } }],
    ['a mistyped exp', { json: { active: true, exp: 'later' } }],
    ['a mistyped aud', { json: { active: true, aud: [1, 2] } }],
  ])('reports %s as introspection-unavailable, uncached', async (_name, failed) => {
    reply = () => failed;
    const client = introspector();
    expect(await client.introspect('opaque-good')).toEqual({ ok: false, reason: 'introspection-unavailable' });
    expect(await client.introspect('opaque-good')).toEqual({ ok: false, reason: 'introspection-unavailable' });
    expect(calls()).toBe(2);
  });

  it('reports an unreachable server as introspection-unavailable', async () => {
    const client = introspector({ endpoint: await closedUrl(PATH) });
    expect(await client.introspect('opaque-good')).toEqual({ ok: false, reason: 'introspection-unavailable' });
  });

  it('checks the expected audience and issuer', async () => {
    expect(await introspector({ expectedAudience: 'webhook' }).introspect('opaque-good')).toMatchObject({ ok: true });
    expect(await introspector({ expectedAudience: 'other' }).introspect('opaque-good')).toEqual({
      ok: false,
      reason: 'wrong-audience',
    });
    expect(await introspector({ expectedAudience: 'webhook' }).introspect('opaque-no-exp')).toEqual({
      ok: false,
      reason: 'wrong-audience',
    });
    tokens.set('multi-aud', { active: true, aud: ['a', 'webhook'] });
    expect(await introspector({ expectedAudience: 'webhook' }).introspect('multi-aud')).toMatchObject({ ok: true });
    expect(await introspector({ expectedIssuer: 'https://as.example' }).introspect('opaque-good')).toMatchObject({
      ok: true,
    });
    expect(await introspector({ expectedIssuer: 'https://evil.example' }).introspect('opaque-good')).toEqual({
      ok: false,
      reason: 'wrong-issuer',
    });
  });

  it('refuses an "active" token whose exp has passed', async () => {
    tokens.set('stale', { active: true, exp: Math.floor(now / 1000) - 1 });
    expect(await introspector().introspect('stale')).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses an empty or oversized token without asking the server', async () => {
    expect(await introspector().introspect('')).toEqual({ ok: false, reason: 'malformed' });
    expect(await introspector().introspect('x'.repeat(20_000))).toEqual({ ok: false, reason: 'malformed' });
    expect(calls()).toBe(0);
  });

  it('bounds the cache', async () => {
    const client = introspector({ maxCacheEntries: 2 });
    for (const token of ['t1', 't2', 't3']) await client.introspect(token);
    expect((client as unknown as { cache: Map<string, unknown> }).cache.size).toBe(2);
    await client.introspect('t1');
    expect(calls()).toBe(4);
  });

  it('refuses bad settings', () => {
    expect(() => introspector({ endpoint: 'ftp://as.example' })).toThrow(/http/);
    expect(() => introspector({ clientId: '' })).toThrow(/clientId/);
    expect(() => introspector({ cacheSeconds: -1 })).toThrow(/cacheSeconds/);
    expect(() => introspector({ timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => introspector({ maxCallsPerSecond: 0 })).toThrow(/maxCallsPerSecond/);
    expect(() => introspector({ maxBurst: 1.5 })).toThrow(/maxBurst/);
    expect(() => introspector({ maxConcurrent: 0 })).toThrow(/maxConcurrent/);
  });
});

describe('TokenIntrospector: the size of an answer', () => {
  let warnings: jest.SpyInstance;

  beforeEach(() => {
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => warnings.mockRestore());

  /** Introspects a token at an endpoint that answers without end; returns the result and what the server sent. */
  async function refusal(declaredLength?: number) {
    const answers: OversizedAnswer[] = [];
    const big = await listenOnLoopback((_req, res) => {
      answers.push(answerWithoutEnd(res, { prefix: '{"active":true', declaredLength }));
    });
    try {
      const endpoint = big.url(PATH);
      // A long timeout: only the size limit may end the read.
      const result = await introspector({ endpoint, timeoutMs: 60_000 }).introspect('opaque-good');
      expect(answers).toHaveLength(1);
      return { result, answer: answers[0], endpoint };
    } finally {
      await big.close();
    }
  }

  it('reports an answer without end as introspection-unavailable once it passes 256 KiB, and reads no further', async () => {
    const { result, answer, endpoint } = await refusal();
    expect(result).toEqual({ ok: false, reason: 'introspection-unavailable' });
    await expect(answer.outcome).resolves.toBe('client-closed');
    // Socket buffers hold a few MiB; a reader without a limit takes all 64 MiB the server offers.
    expect(answer.written()).toBeLessThan(32 * MIB);
    expect(warnings).toHaveBeenCalledWith(
      `Refused the answer of the introspection endpoint ${endpoint}: the answer is larger than 256 KiB; it was not read further`,
    );
  });

  it('refuses an answer whose Content-Length is over 256 KiB before reading it', async () => {
    const { result, answer, endpoint } = await refusal(HUGE);
    expect(result).toEqual({ ok: false, reason: 'introspection-unavailable' });
    await expect(answer.outcome).resolves.toBe('client-closed');
    expect(answer.written()).toBeLessThan(32 * MIB);
    expect(warnings).toHaveBeenCalledWith(
      `Refused the answer of the introspection endpoint ${endpoint}: the answer declares ${HUGE} bytes, more than 256 KiB; it was not read further`,
    );
  });

  it('still reads an answer of normal size', async () => {
    expect(await introspector().introspect('opaque-good')).toMatchObject({ ok: true, claims: { sub: 'svc-a' } });
    expect(warnings).not.toHaveBeenCalled();
  });
});
