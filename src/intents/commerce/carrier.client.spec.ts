import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppConfig } from '../../config';
import { OutboundHttpClient } from '../../outbound';
import { LocalServer, startLocalServer } from '../../outbound/testing/local-server';
import { CarrierClient } from './carrier.client';

const ESTIMATE = { carrier: 'DemoPost', service: 'express', days: 2 };

describe('CarrierClient (through OutboundHttpClient, real local carrier APIs)', () => {
  let http: OutboundHttpClient;
  const servers: LocalServer[] = [];
  const carriers: CarrierClient[] = [];

  async function carrierFor(
    url: string | undefined,
    { timeoutMs = 1_000, retries = 0, isProduction = true } = {},
  ): Promise<CarrierClient> {
    const config = { isProduction } as unknown as AppConfig;
    const carrier = new CarrierClient({ url, timeoutMs, retries }, config, http);
    await carrier.onModuleInit();
    carriers.push(carrier);
    return carrier;
  }
  async function fakeCarrier(
    answer: (res: ServerResponse, index: number, req: IncomingMessage) => void,
  ): Promise<LocalServer> {
    const server = await startLocalServer(answer);
    servers.push(server);
    return server;
  }

  beforeEach(() => {
    http = new OutboundHttpClient();
  });
  afterEach(async () => {
    await Promise.all(carriers.splice(0).map((c) => c.onModuleDestroy()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await http.onModuleDestroy();
  });

  it('asks for an estimate with an idempotent GET and returns it', async () => {
    const server = await fakeCarrier((res) => res.end(JSON.stringify(ESTIMATE)));
    const carrier = await carrierFor(server.url);
    await expect(carrier.estimate('10117', '07030', 900)).resolves.toEqual({ ok: true, estimate: ESTIMATE });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({
      method: 'GET',
      url: '/v1/estimates?from=10117&to=07030&weight=900',
      headers: expect.objectContaining({ accept: 'application/json' }),
    });
  });

  it('is not configured in production without CARRIER_API_URL, and uses the demo carrier elsewhere', async () => {
    await expect((await carrierFor(undefined)).estimate('10117', '07030', 900)).resolves.toEqual({
      ok: false,
      reason: 'not-configured',
    });
    const demo = await carrierFor(undefined, { isProduction: false });
    await expect(demo.estimate('10117', '10115', 900)).resolves.toMatchObject({ ok: true });
    // A postcode without a digit is one the demo carrier does not know, as a real one refuses an unknown postcode.
    await expect(demo.estimate('10117', 'ZZZZZ', 900)).resolves.toEqual({ ok: false, reason: 'rejected' });
  });

  it('retries CARRIER_RETRIES times, each attempt cut off by CARRIER_TIMEOUT_MS, then reports unavailable', async () => {
    const server = await fakeCarrier(() => undefined); // never answers
    const carrier = await carrierFor(server.url, { timeoutMs: 100, retries: 1 });
    await expect(carrier.estimate('10117', '07030', 900)).resolves.toEqual({ ok: false, reason: 'unavailable' });
    expect(server.requests).toHaveLength(2);
  });

  it("does not wait out a Retry-After that ends past the turn's deadline: one call, then unavailable", async () => {
    const server = await fakeCarrier((res) => res.writeHead(503, { 'retry-after': '4' }).end());
    const carrier = await carrierFor(server.url, { retries: 2 });
    const deadline = new Date(Date.now() + 1_000);
    await expect(carrier.estimate('10117', '07030', 900, undefined, deadline)).resolves.toEqual({
      ok: false,
      reason: 'unavailable',
    });
    expect(server.requests).toHaveLength(1);
  });

  it('keeps the path of CARRIER_API_URL (a gateway prefix)', async () => {
    const server = await fakeCarrier((res) => res.end(JSON.stringify(ESTIMATE)));
    const carrier = await carrierFor(`${server.url}/carrier/`);
    await expect(carrier.estimate('10117', '07030', 900)).resolves.toMatchObject({ ok: true });
    expect(server.requests[0].url).toBe('/carrier/v1/estimates?from=10117&to=07030&weight=900');
  });

  it('reports unavailable when the carrier cannot be reached', async () => {
    const server = await fakeCarrier((res) => res.end());
    const url = server.url;
    await server.close();
    const carrier = await carrierFor(url, { retries: 1 });
    await expect(carrier.estimate('10117', '07030', 900)).resolves.toEqual({ ok: false, reason: 'unavailable' });
  });

  it('opens its circuit after five useless answers and then answers without calling the carrier', async () => {
    const server = await fakeCarrier((res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>oops'));
    const carrier = await carrierFor(server.url);
    for (let i = 0; i < 5; i++) {
      await expect(carrier.estimate('10117', '07030', 900)).resolves.toEqual({ ok: false, reason: 'unavailable' });
    }
    await expect(carrier.estimate('10117', '07030', 900)).resolves.toEqual({ ok: false, reason: 'circuit-open' });
    expect(server.requests).toHaveLength(5);
  });

  describe('after its circuit opened on useless answers and the carrier went silent', () => {
    let server: LocalServer;
    let carrier: CarrierClient;
    let clock: jest.SpyInstance<number, []>;

    beforeEach(async () => {
      server = await fakeCarrier((res, index) => (index < 5 ? res.end('<html>oops') : undefined));
      carrier = await carrierFor(server.url, { timeoutMs: 300, retries: 2 });
      for (let i = 0; i < 5; i++) await carrier.estimate('10117', '07030', 900);
      // The circuit half-opens 10 s after it opened: the clock is moved on instead of waiting.
      const realNow = Date.now.bind(Date);
      clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 10_001);
    });
    afterEach(() => clock.mockRestore());

    it('stays open when the turn gives up during the trial call (it closed: the trial "failed successfully")', async () => {
      const turn = AbortSignal.timeout(100);
      await expect(carrier.estimate('10117', '07030', 900, turn)).resolves.toEqual({
        ok: false,
        reason: 'unavailable',
      });
      await expect(carrier.estimate('10117', '07030', 900)).resolves.toEqual({ ok: false, reason: 'circuit-open' });
      expect(server.requests).toHaveLength(6);
    });

    it('answers others at once during the trial, and makes the trial one attempt', async () => {
      const trial = carrier.estimate('10117', '07030', 900);
      while (server.requests.length < 6) await new Promise((resolve) => setTimeout(resolve, 10));
      await expect(carrier.estimate('10117', '07030', 900)).resolves.toEqual({ ok: false, reason: 'circuit-open' });
      await expect(trial).resolves.toEqual({ ok: false, reason: 'unavailable' });
      expect(server.requests).toHaveLength(6);
    });
  });

  it('does not open its circuit on answers about one request (an unknown postcode): other users still get estimates', async () => {
    const server = await fakeCarrier((res, _index, req) => {
      const asked = new URL(req.url ?? '/', 'http://carrier');
      if (asked.searchParams.get('to') === 'ZZZZZ') res.writeHead(422).end('{"error":"unknown postcode"}');
      else res.end(JSON.stringify(ESTIMATE));
    });
    const carrier = await carrierFor(server.url);
    for (let i = 0; i < 6; i++) {
      await expect(carrier.estimate('10117', 'ZZZZZ', 900)).resolves.toEqual({ ok: false, reason: 'rejected' });
    }
    await expect(carrier.estimate('10117', '07030', 900)).resolves.toEqual({ ok: true, estimate: ESTIMATE });
    expect(server.requests).toHaveLength(7);
  });

  it('opens its circuit on 4xx answers that say the whole API refuses us (401, 429)', async () => {
    const server = await fakeCarrier((res) => res.writeHead(401).end());
    const carrier = await carrierFor(server.url);
    for (let i = 0; i < 5; i++) await carrier.estimate('10117', '07030', 900);
    await expect(carrier.estimate('10117', '07030', 900)).resolves.toEqual({ ok: false, reason: 'circuit-open' });
  });

  it('reports a request the carrier says is wrong (400, 404, 422) as rejected, not as the carrier being unavailable', async () => {
    for (const status of [400, 404, 422]) {
      const server = await fakeCarrier((res) => res.writeHead(status).end('{"error":"unknown postcode"}'));
      const carrier = await carrierFor(server.url, { retries: 2 });
      await expect(carrier.estimate('10117', 'ZZZZZ', 900)).resolves.toEqual({ ok: false, reason: 'rejected' });
      // Not retried: the same request gets the same answer.
      expect(server.requests).toHaveLength(1);
    }
  });

  it('treats error statuses and wrong bodies as failures', async () => {
    const answers = [
      (res: ServerResponse) => res.writeHead(410).end(JSON.stringify(ESTIMATE)),
      (res: ServerResponse) => res.writeHead(500).end(JSON.stringify(ESTIMATE)),
      (res: ServerResponse) => res.end(JSON.stringify({ ...ESTIMATE, days: 'soon' })),
    ];
    for (const answer of answers) {
      const carrier = await carrierFor((await fakeCarrier(answer)).url);
      await expect(carrier.estimate('10117', '07030', 900)).resolves.toEqual({ ok: false, reason: 'unavailable' });
    }
  });
});
