import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { esRequest, LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

const PATH = '/v1/webhooks/generic';

interface Reply {
  text: string;
  elicit?: { parameter: string; invalid?: boolean };
  failed?: boolean;
}

describe('commerce: backorders and postcodes the carrier refuses (real HTTP, real PostgreSQL, real carrier APIs)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const turn = async (app: TestApp, intent: string, parameters: Record<string, unknown>): Promise<Reply> =>
    (
      await request(app.baseUrl)
        .post(PATH)
        .set(LOCAL_DEV_AUTH)
        .send({ requestId: `${Date.now()}-${Math.random()}`, sessionId: 'commerce', intent, parameters })
        .expect(200)
    ).body as Reply;

  it('counts only the stock warehouses hold: one below zero (backorders) does not cancel another', async () => {
    // K7: 0 in Berlin, 4 in New Jersey. Berlin now owes 6 (backorders).
    await queryTestDatabase(
      t.database.url,
      `UPDATE stock_levels l SET quantity = -6 FROM products p, warehouses w
        WHERE p.id = l.product_id AND w.id = l.warehouse_id AND p.sku = 'K7' AND w.code = 'BER'`,
    );
    expect((await turn(t, 'CheckInventory', { sku: 'K7' })).text).toBe(
      'K7 Mechanical Keyboard (K7): 4 in stock — 4 in New Jersey warehouse.',
    );
    // GetShippingEstimate ships it from there: both say the same.
    expect((await turn(t, 'GetShippingEstimate', { sku: 'K7', postcode: '07030' })).text).toMatch(
      /^K7 Mechanical Keyboard ships from New Jersey warehouse/,
    );
    // Below zero and nothing elsewhere: out of stock, not "-6 in stock".
    await queryTestDatabase(
      t.database.url,
      `UPDATE stock_levels l SET quantity = -2 FROM products p, warehouses w
        WHERE p.id = l.product_id AND w.id = l.warehouse_id AND p.sku = 'M1' AND w.code = 'NYC'`,
    );
    expect((await turn(t, 'CheckInventory', { sku: 'M1' })).text).toBe(
      'M1 Travel Mouse (M1) is out of stock everywhere.',
    );
  });

  it('asks for the postcode again when the (demo) carrier does not know it, instead of "ask me again later"', async () => {
    const reply = await turn(t, 'GetShippingEstimate', { sku: 'X200', postcode: 'zzzzz' });
    expect(reply).toMatchObject({
      text: "Our shipping partner doesn't recognise the postcode ZZZZZ. What is the delivery postcode?",
      elicit: { parameter: 'postcode', invalid: true },
    });
    // A question, not a failure.
    expect(reply.failed).toBeUndefined();
  });

  it('marks the reply failed when the carrier is unreachable: no estimate was given', async () => {
    const app = await startTestApp({ env: { CARRIER_API_URL: 'http://127.0.0.1:1', CARRIER_RETRIES: '0' } });
    try {
      expect(await turn(app, 'GetShippingEstimate', { sku: 'X200', postcode: '10117' })).toMatchObject({
        outcome: 'fulfilled',
        text: "I can't reach our shipping partner right now. Please ask me again in a few minutes.",
        failed: true,
      });
    } finally {
      await app.close();
    }
  });

  it('asks for the postcode again on 400, 404 and 422 from a carrier API; other users still get estimates', async () => {
    let status = 422;
    const server: Server = createServer((req, res) => {
      const to = new URL(req.url ?? '/', 'http://carrier').searchParams.get('to');
      if (to === '00000')
        res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":"no such postcode"}');
      else res.end(JSON.stringify({ carrier: 'FastShip', service: 'ground', days: 3 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const carrierUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const app = await startTestApp({ env: { CARRIER_API_URL: carrierUrl, CARRIER_RETRIES: '0' } });
    try {
      for (status of [400, 404, 422, 422, 422, 422, 422]) {
        const refused = await request(app.baseUrl)
          .post('/v1/webhooks/dialogflow-es')
          .set(LOCAL_DEV_AUTH)
          .send(esRequest('GetShippingEstimate', { sku: 'X200', postcode: '00000' }))
          .expect(200);
        expect(refused.body.fulfillmentText).toBe(
          "Our shipping partner doesn't recognise the postcode 00000. What is the delivery postcode?",
        );
      }
      expect((await turn(app, 'GetShippingEstimate', { sku: 'X200', postcode: '10117' })).text).toBe(
        'X200 Wireless Headphones ships from New Jersey warehouse with FastShip ground and should arrive in 3 business days.',
      );
    } finally {
      await app.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
