import { createServer as createHttpServer, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { decodeStandardWebhookSecret, verifyStandardWebhook } from '../../src/auth/hmac/standard-webhooks';

/** One request a callback receiver got, as it arrived. */
export interface ReceivedCallback {
  /** `Date.now()` when the whole body had arrived. */
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The body bytes exactly as received (what a signature covers). */
  readonly body: Buffer;
}

export interface CallbackAnswer {
  readonly status: number;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string;
}

/** Chooses the answer to a request; `index` is its 0-based position among all requests received. */
export type CallbackResponder = (request: ReceivedCallback, index: number) => CallbackAnswer | number;

export interface CallbackReceiver {
  /** e.g. http://127.0.0.1:43121/callbacks */
  readonly url: string;
  readonly port: number;
  /** Every request so far, in arrival order. */
  readonly received: readonly ReceivedCallback[];
  /** Replaces how later requests are answered. */
  respondWith(responder: CallbackResponder): void;
  close(): Promise<void>;
}

/** A real HTTP receiver on 127.0.0.1 that records every request and answers as `responder` says. */
export async function startCallbackReceiver(
  responder: CallbackResponder = () => 204,
  path = '/callbacks',
): Promise<CallbackReceiver> {
  const received: ReceivedCallback[] = [];
  let respond = responder;
  const server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => {
      const entry: ReceivedCallback = {
        at: Date.now(),
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks),
      };
      received.push(entry);
      let answer: CallbackAnswer;
      try {
        const chosen = respond(entry, received.length - 1);
        answer = typeof chosen === 'number' ? { status: chosen } : chosen;
      } catch {
        answer = { status: 599 };
      }
      const body = answer.body ?? '';
      response.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(body) });
      response.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    received,
    respondWith: (next) => {
      respond = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Kept-alive connections from the service's HTTP agent would hold close() open.
        server.closeAllConnections();
      }),
  };
}

export interface ConnectionCounter {
  readonly port: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * A plain TCP server on 127.0.0.1 that only counts (and drops) the connections it gets; it also listens on
 * [::1] at the same port when it can, so `localhost` is covered whichever address it resolves to.
 */
export async function startConnectionCounter(): Promise<ConnectionCounter> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const onConnection = (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.destroy();
  };
  const listen = (server: Server, port: number, host: string) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  const v4 = createTcpServer(onConnection);
  await listen(v4, 0, '127.0.0.1');
  const { port } = v4.address() as AddressInfo;
  const servers = [v4];
  const v6 = createTcpServer(onConnection);
  try {
    await listen(v6, port, '::1');
    servers.push(v6);
  } catch {
    // No IPv6 loopback here (or the port is taken on it): 127.0.0.1 alone.
  }
  return {
    port,
    get connections() {
      return connections;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    },
  };
}

/** The Standard Webhooks check a subscriber runs on a callback it received, with the caller's `whsec_` secret. */
export function verifyCallback(request: ReceivedCallback, secret: string): ReturnType<typeof verifyStandardWebhook> {
  return verifyStandardWebhook({
    headers: {
      id: request.headers['webhook-id'] as string | undefined,
      timestamp: request.headers['webhook-timestamp'] as string | undefined,
      signature: request.headers['webhook-signature'] as string | undefined,
    },
    rawBody: request.body,
    secrets: [decodeStandardWebhookSecret(secret)],
    nowSeconds: Math.floor(Date.now() / 1000),
  });
}

export { eventually } from './eventually';
