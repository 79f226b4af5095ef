import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { esRequest, LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

const PATH = '/v1/webhooks/dialogflow-es';
const UNREACHABLE = "I can't reach our shipping partner right now. Please ask me again in a few minutes.";

function send(t: TestApp, intent: string, parameters: Record<string, unknown>) {
  return request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).send(esRequest(intent, parameters)).expect(200);
}

/** A carrier API the test controls: counts calls and answers as told. */
async function fakeCarrier(answer: (res: import('node:http').ServerResponse) => void) {
  let calls = 0;
  const server: Server = createServer((_req, res) => {
    calls += 1;
    answer(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: () => calls,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('commerce (real HTTP, real PostgreSQL, a real local carrier API)', () => {
  describe('with the demo carrier', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp();
    });
    afterAll(() => t.close());

    it('reports per-warehouse stock by SKU or name', async () => {
      expect((await send(t, 'CheckInventory', { sku: 'x200' })).body.fulfillmentText).toBe(
        'X200 Wireless Headphones (X200): 42 in stock — 12 in Berlin warehouse, 30 in New Jersey warehouse.',
      );
      expect((await send(t, 'CheckInventory', { product: 'travel mouse' })).body.fulfillmentText).toBe(
        'M1 Travel Mouse (M1) is out of stock everywhere.',
      );
      expect((await send(t, 'CheckInventory', {})).body.fulfillmentText).toBe('Which product are you looking for?');
      // A wildcard the user typed is a character to look for, not "any product".
      expect((await send(t, 'CheckInventory', { product: 'x2_0' })).body.fulfillmentText).toMatch(/^I couldn't find/);
    });

    it("shows an order's status only to the customer it belongs to", async () => {
      expect((await send(t, 'GetOrderStatus', { user_id: '12345', order_id: 'ord-10042' })).body.fulfillmentText).toBe(
        'Order ORD-10042 has shipped. Tracking number: DP123456789.',
      );
      expect((await send(t, 'GetOrderStatus', { user_id: '67890', order_id: 'ORD-10042' })).body.fulfillmentText).toBe(
        "I couldn't find order ORD-10042 on your account.",
      );
    });

    it('shows a status the order system wrote that the service has no words for as stored, not as an apology', async () => {
      await queryTestDatabase(
        t.database.url,
        `INSERT INTO orders (order_number, customer_number, status, placed_at, ship_to_postcode)
         VALUES ('ORD-90001', '12345', 'on_hold', now(), '07030')`,
      );
      expect((await send(t, 'GetOrderStatus', { user_id: '12345', order_id: 'ORD-90001' })).body.fulfillmentText).toBe(
        'Order ORD-90001 has the status “on_hold”.',
      );
    });

    it('estimates shipping through the carrier API', async () => {
      const response = await send(t, 'GetShippingEstimate', { sku: 'K7', postcode: '07030' });
      expect(response.body.fulfillmentText).toBe(
        'K7 Mechanical Keyboard ships from New Jersey warehouse with DemoPost express and should arrive in 1 business day.',
      );
    });
  });

  it('answers politely when the carrier API is down', async () => {
    const t = await startTestApp({ env: { CARRIER_API_URL: 'http://127.0.0.1:1', CARRIER_RETRIES: '1' } });
    try {
      expect((await send(t, 'GetShippingEstimate', { sku: 'X200', postcode: '10117' })).body.fulfillmentText).toBe(
        UNREACHABLE,
      );
    } finally {
      await t.close();
    }
  });

  it('answers politely when the carrier API is slower than the per-call timeout', async () => {
    const carrier = await fakeCarrier((res) => setTimeout(() => res.end('{}'), 3000).unref());
    const t = await startTestApp({
      env: { CARRIER_API_URL: carrier.url, CARRIER_TIMEOUT_MS: '100', CARRIER_RETRIES: '1' },
    });
    try {
      expect((await send(t, 'GetShippingEstimate', { sku: 'X200', postcode: '10117' })).body.fulfillmentText).toBe(
        UNREACHABLE,
      );
      expect(carrier.calls()).toBe(2); // the first call and one retry, each cut off by the timeout
    } finally {
      await t.close();
      await carrier.close();
    }
  });

  it('answers politely when the carrier API returns garbage, and stops calling it once the circuit opens', async () => {
    const carrier = await fakeCarrier((res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>oops'));
    const t = await startTestApp({ env: { CARRIER_API_URL: carrier.url, CARRIER_RETRIES: '0' } });
    try {
      for (let i = 0; i < 5; i++) {
        expect((await send(t, 'GetShippingEstimate', { sku: 'X200', postcode: '10117' })).body.fulfillmentText).toBe(
          UNREACHABLE,
        );
      }
      expect(carrier.calls()).toBe(5);
      // Five failures in a row opened the circuit: the next request is answered without calling the carrier.
      expect((await send(t, 'GetShippingEstimate', { sku: 'X200', postcode: '10117' })).body.fulfillmentText).toBe(
        UNREACHABLE,
      );
      expect(carrier.calls()).toBe(5);
    } finally {
      await t.close();
      await carrier.close();
    }
  });
});
