/**
 * Test support for the token specs: a real HTTP server on 127.0.0.1 and signing keys. Not used by
 * application code.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CryptoKey, JWK, JWTHeaderParameters, JWTPayload } from 'jose';
import { loadJose } from '../jose';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** `'hang'` never answers (until the server closes). */
export type Reply =
  | {
      readonly status?: number;
      readonly json?: unknown;
      readonly text?: string;
      readonly headers?: Readonly<Record<string, string>>;
    }
  | 'hang';
export type Route = (request: RecordedRequest) => Reply | Promise<Reply>;

export class LocalServer {
  private readonly routes = new Map<string, Route>();
  private readonly recorded: RecordedRequest[] = [];

  private readonly server: Server;
  private port = 0;

  private constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request: RecordedRequest = {
          method: req.method ?? 'GET',
          path: new URL(req.url ?? '/', 'http://localhost').pathname,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        this.recorded.push(request);
        const route = this.routes.get(`${request.method} ${request.path}`);
        Promise.resolve(route ? route(request) : { status: 404, text: 'not found' })
          .then((reply) => {
            if (reply === 'hang') return;
            const body = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.text ?? '');
            res.writeHead(reply.status ?? 200, {
              'content-type': reply.json !== undefined ? 'application/json' : 'text/plain',
              ...reply.headers,
            });
            res.end(body);
          })
          .catch(() => {
            res.writeHead(500).end();
          });
      });
    });
  }

  static async start(): Promise<LocalServer> {
    const self = new LocalServer();
    await new Promise<void>((resolve) => self.server.listen(0, '127.0.0.1', resolve));
    self.port = (self.server.address() as AddressInfo).port;
    return self;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  route(method: string, path: string, handler: Route): void {
    this.routes.set(`${method} ${path}`, handler);
  }

  requests(path: string): RecordedRequest[] {
    return this.recorded.filter((request) => request.path === path);
  }

  count(path: string): number {
    return this.requests(path).length;
  }

  reset(): void {
    this.routes.clear();
    this.recorded.length = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      this.server.closeAllConnections();
    });
  }
}

/** A URL on 127.0.0.1 where nothing listens. */
export async function closedUrl(path: string): Promise<string> {
  const server = await LocalServer.start();
  await server.close();
  return server.url(path);
}

export interface TestKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** What the JWKS publishes. */
  readonly publicJwk: JWK;
}

export async function makeKey(kid: string, alg = 'RS256'): Promise<TestKey> {
  const jose = await loadJose();
  const { privateKey, publicKey } = await jose.generateKeyPair(alg);
  const publicJwk: JWK = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, publicJwk };
}

/** Serves `{ keys }` from whatever `keys()` returns at request time. */
export function serveJwks(server: LocalServer, path: string, keys: () => readonly TestKey[]): void {
  server.route('GET', path, () => ({ json: { keys: keys().map((key) => key.publicJwk) } }));
}

export async function signJwt(
  key: TestKey,
  claims: JWTPayload,
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  const jose = await loadJose();
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function base64url(value: string | Uint8Array): string {
  return Buffer.from(value).toString('base64url');
}
