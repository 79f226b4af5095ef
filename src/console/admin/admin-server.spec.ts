import { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { HttpConfig } from '../../config';
import { hardenAdminServer } from './admin-server';

const http = { headersTimeoutMs: 11_000, requestTimeoutMs: 22_000, keepAliveTimeoutMs: 33_000 } as HttpConfig;

function harness() {
  const server = new Server();
  const warn = jest.fn();
  const access = { isLevelEnabled: () => true, warn, info: warn, error: warn } as unknown as Logger;
  hardenAdminServer(server, http, {}, access);
  return { server, warn };
}

describe('hardenAdminServer', () => {
  it("bounds headers, whole requests and idle keep-alives as the webhook port's server does", () => {
    const { server } = harness();
    expect([server.headersTimeout, server.requestTimeout, server.keepAliveTimeout]).toEqual([11_000, 22_000, 33_000]);
  });

  it('answers what the HTTP parser refuses as JSON, with an access line, instead of a bare 400', () => {
    const { server, warn } = harness();
    const written: string[] = [];
    const socket = {
      writable: true,
      remoteAddress: '127.0.0.1',
      write: (chunk: string) => written.push(chunk),
      destroy: jest.fn(),
    } as unknown as Socket;
    server.emit('clientError', Object.assign(new Error('Parse Error'), { code: 'HPE_INVALID_METHOD' }), socket);
    expect(written.join('')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nContent-Type: application\/json/);
    expect(written.join('')).toContain('"message":"The request is not valid HTTP."');
    expect(socket.destroy).toHaveBeenCalled();
    expect(warn).toHaveBeenCalled();
  });

  it("leaves a request without Host to the application's JSON answer rather than Node's bare 400", () => {
    expect((harness().server as { requireHostHeader?: boolean }).requireHostHeader).toBe(false);
  });
});
