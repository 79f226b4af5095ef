/**
 * Test support: a local HTTPS server on 127.0.0.1 speaking the Kubernetes TokenReview API
 * (`POST /apis/authentication.k8s.io/v1/tokenreviews`). Not used by application code.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

/** What the API server decides for a token: a `status`, or an HTTP error. */
export type ReviewDecision =
  | {
      readonly authenticated: boolean;
      readonly username?: string;
      readonly audiences?: readonly string[];
      readonly error?: string;
    }
  | { readonly httpStatus: number };

export interface ReceivedReview {
  readonly authorization: string | undefined;
  readonly body: { apiVersion?: string; kind?: string; spec?: { token?: string; audiences?: string[] } };
}

export class TokenReviewServer {
  readonly received: ReceivedReview[] = [];
  decide: (token: string, audiences: readonly string[]) => ReviewDecision = () => ({ authenticated: false });
  private port = 0;

  private readonly server: Server;

  private constructor(tls: { key: Buffer; cert: Buffer }) {
    this.server = createServer(tls, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/apis/authentication.k8s.io/v1/tokenreviews') {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","code":404}');
          return;
        }
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedReview['body'];
        this.received.push({ authorization: req.headers.authorization, body });
        const spec = body.spec ?? {};
        const decision = this.decide(spec.token ?? '', spec.audiences ?? []);
        if ('httpStatus' in decision) {
          res.writeHead(decision.httpStatus, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: decision.httpStatus }));
          return;
        }
        const status = {
          ...(decision.authenticated && { authenticated: true }),
          ...(decision.username !== undefined && {
            user: {
              username: decision.username,
              uid: '3c1a7e2e-0000-4000-8000-000000000001',
              groups: ['system:serviceaccounts', 'system:authenticated'],
              extra: { 'authentication.kubernetes.io/pod-name': ['bot-7f9c'] },
            },
          }),
          ...(decision.audiences !== undefined && { audiences: decision.audiences }),
          ...(decision.error !== undefined && { error: decision.error }),
        };
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'TokenReview',
            apiVersion: 'authentication.k8s.io/v1',
            metadata: { creationTimestamp: null },
            spec,
            status,
          }),
        );
      });
    });
  }

  static async start(tls: { key: Buffer; cert: Buffer }): Promise<TokenReviewServer> {
    const self = new TokenReviewServer(tls);
    await new Promise<void>((resolve) => self.server.listen(0, '127.0.0.1', resolve));
    self.port = (self.server.address() as AddressInfo).port;
    return self;
  }

  /** https://localhost:<port> (the test certificates name localhost and 127.0.0.1). */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      this.server.closeAllConnections();
    });
  }
}
