import { EventEmitter } from 'node:events';
import type { NextFunction, Request, Response } from 'express';
import type { EventLoopLoad } from './event-loop-load';
import { refuseWhenOverloaded } from './overload.middleware';

/** An overloaded replica: every refusable request is refused. */
const overloaded = { refuseNow: () => true, started: jest.fn(), finished: jest.fn() } as unknown as EventLoopLoad;

function exchange(url: string, path: string) {
  const headers: Record<string, unknown> = {};
  const response = Object.assign(new EventEmitter(), {
    statusCode: 200,
    headers,
    setHeader(name: string, value: unknown) {
      this.headers[name.toLowerCase()] = value;
    },
    writeHead(status: number) {
      this.statusCode = status;
    },
    end: jest.fn(),
  });
  const next = jest.fn() as NextFunction;
  // `path` is what express parses out of the URL (its getter), given here as it would compute it.
  refuseWhenOverloaded(overloaded)({ url, path } as Request, response as unknown as Response, next);
  return { response, next };
}

describe('refuseWhenOverloaded', () => {
  it('refuses /v1/ routes however the request line spells them, and lets probes through', () => {
    for (const [url, path] of [
      ['/v1/webhooks/rasa', '/v1/webhooks/rasa'],
      ['/v1\\webhooks/rasa#x', '/v1/webhooks/rasa'],
      ['http://service/v1/webhooks/generic', '/v1/webhooks/generic'],
    ]) {
      const { response, next } = exchange(url, path);
      expect([url, response.statusCode, response.headers['retry-after']]).toEqual([url, 503, '1']);
      expect(next).not.toHaveBeenCalled();
    }
    const probe = exchange('/health/ready', '/health/ready');
    expect(probe.response.statusCode).toBe(200);
    expect(probe.next).toHaveBeenCalledWith();
  });
});
