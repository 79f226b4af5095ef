import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small stand-in for a carrier's estimate API, started in development when CARRIER_API_URL is unset:
 * `GET /v1/estimates?from=<postcode>&to=<postcode>&weight=<grams>` → `{ carrier, service, days }`. A postcode
 * without a digit is one it does not know: 422, as a real carrier answers an unknown postcode.
 */
export async function startDemoCarrier(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const from = url.searchParams.get('from') ?? '';
    const to = url.searchParams.get('to') ?? '';
    if (url.pathname !== '/v1/estimates' || !from || !to) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    if (!/\d/.test(from) || !/\d/.test(to)) {
      res.writeHead(422, { 'content-type': 'application/json' }).end('{"error":"unknown postcode"}');
      return;
    }
    const distance = Math.abs(
      parseInt(from.replace(/\D/g, '') || '0', 10) - parseInt(to.replace(/\D/g, '') || '0', 10),
    );
    const days = 1 + Math.min(6, Math.floor(distance / 15000));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ carrier: 'DemoPost', service: days <= 2 ? 'express' : 'ground', days }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
