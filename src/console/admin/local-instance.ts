import type { Server } from 'node:net';
import { LOCAL_DEV_TOKEN } from '../../auth/callers/caller-registry';
import { AppConfig } from '../../config';

const SEND_TIMEOUT_MS = 10_000;

/** What the instance answered to a request sent again. */
export interface SentAgain {
  readonly status: number;
  readonly body: unknown;
}

/**
 * The service instance this console runs in, as a developer's target for a captured request: its webhook
 * listener on loopback, with the local development caller's token. Only outside production and only on plain
 * HTTP (a TLS listener wants client certificates the console does not hold).
 */
export class LocalInstance {
  constructor(
    private readonly server: () => unknown,
    private readonly config: AppConfig,
  ) {}

  /** `http://127.0.0.1:<port>`, or undefined where sending again is not offered. */
  get baseUrl(): string | undefined {
    if (this.config.isProduction || this.config.tls) return undefined;
    const address = (this.server() as Server | undefined)?.address?.();
    if (!address || typeof address !== 'object') return undefined;
    return `http://127.0.0.1:${address.port}`;
  }

  get token(): string {
    return LOCAL_DEV_TOKEN;
  }

  /** POSTs the body to the instance's own route, as the local development caller. */
  async send(baseUrl: string, path: string, body: unknown): Promise<SentAgain> {
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: shown as the text it is.
    }
    return { status: response.status, body: parsed };
  }
}
