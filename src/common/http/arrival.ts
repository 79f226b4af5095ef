import type { IncomingMessage, Server } from 'node:http';

const ARRIVED_AT = Symbol('arrivedAt');

type Stamped = IncomingMessage & { [ARRIVED_AT]?: number };

/**
 * Notes when each request arrives, before any middleware (body reading, authentication) runs: a turn's
 * budget starts here. `backlogMs` estimates the time the request already waited unseen behind a busy event
 * loop (its current delay), which is spent too.
 */
export function stampArrivals(server: Server, backlogMs: () => number = () => 0): void {
  server.prependListener('request', (request: IncomingMessage) => {
    (request as Stamped)[ARRIVED_AT] = performance.now() - backlogMs();
  });
}

/** `performance.now()` at the request's arrival; now when it was not stamped. */
export function arrivalOf(request: IncomingMessage): number {
  return (request as Stamped)[ARRIVED_AT] ?? performance.now();
}
