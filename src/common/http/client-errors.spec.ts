import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { limitSlowClients, timeoutCheckIntervalMs } from './client-errors';

describe('limitSlowClients', () => {
  it("checks for requests past their time every second, or a quarter of a shorter limit; Node's 30 s with none", () => {
    expect(timeoutCheckIntervalMs({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 })).toBe(1000);
    expect(timeoutCheckIntervalMs({ headersTimeoutMs: 10_000, requestTimeoutMs: 2000 })).toBe(500);
    expect(timeoutCheckIntervalMs({ headersTimeoutMs: 200, requestTimeoutMs: 0 })).toBe(100);
    expect(timeoutCheckIntervalMs({ headersTimeoutMs: 0, requestTimeoutMs: 0 })).toBe(30_000);
  });

  describe('on a real server (a client that stops sending its body)', () => {
    let server: Server;

    beforeEach(async () => {
      server = createServer((request, response) => {
        request.resume();
        request.once('end', () => response.end('done'));
      });
      limitSlowClients(server, { headersTimeoutMs: 1000, requestTimeoutMs: 1000, keepAliveTimeoutMs: 1000 });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });

    afterEach(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it("cuts it soon after HTTP_REQUEST_TIMEOUT_MS, not at Node's next 30 s check", async () => {
      const { port } = server.address() as AddressInfo;
      const socket = connect(port, '127.0.0.1');
      socket.write(
        'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
      );
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      // Before, the stalled request held its connection until Node's check came round: up to 31 s for a 1 s limit.
      const outcome = await Promise.race([
        new Promise((resolve) => socket.once('close', () => resolve('cut'))),
        new Promise((resolve) => setTimeout(resolve, 15_000, 'still open')),
      ]);
      socket.destroy();
      expect(outcome).toBe('cut');
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    }, 25_000);
  });
});
